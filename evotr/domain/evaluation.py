"""Measuring a model (base or with an adapter): loss on data, preference accuracy, sameness of outputs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import attrs

from evotr.domain.conversation import Message, Role
from evotr.domain.errors import DomainValidationError
from evotr.domain.validation import non_empty_text, non_negative_int


def _message_tuple(value: Iterable[Message]) -> tuple[Message, ...]:
    return tuple(value)


@attrs.frozen(slots=True)
class PreferencePair:
    """A prompt, the answer a user preferred and the one they rejected.

    ``where`` (e.g. ``pairs.jsonl:3``) names the pair's origin in messages about it. ``context``
    holds the messages sent before the user's ``prompt`` (system prompt, earlier turns, recalled
    memory) when the pair comes from a stored turn, so it is scored on the prompt the user saw.
    """

    prompt: str = attrs.field(validator=non_empty_text)
    chosen: str = attrs.field(validator=non_empty_text)
    rejected: str = attrs.field(validator=non_empty_text)
    where: str = ""
    context: tuple[Message, ...] = attrs.field(default=(), converter=_message_tuple)

    def messages(self, system: str | None = None) -> list[Message]:
        """The prompt as chat messages: ``context`` (or else ``system``) then the user's prompt."""
        head = list(self.context) if self.context else ([Message(Role.SYSTEM, system)] if system else [])
        return [*head, Message(Role.USER, self.prompt)]


def _finite(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise DomainValidationError(attribute.name, f"must be a number, got {value!r}")


@attrs.frozen(slots=True)
class LossResult:
    """Mean cross-entropy per target token (nats) over ``tokens`` tokens."""

    loss: float = attrs.field(validator=_finite)
    tokens: int = attrs.field(validator=non_negative_int)

    @property
    def perplexity(self) -> float:
        """exp(loss); infinite rather than an OverflowError for a hopeless model."""
        try:
            return math.exp(self.loss)
        except OverflowError:
            return math.inf


@attrs.frozen(slots=True)
class PreferenceResult:
    """How often a model gives the chosen answer a strictly higher log-probability."""

    pairs: int
    wins: int
    # Mean of log p(chosen) - log p(rejected): how sure, not only how often.
    mean_margin: float

    @property
    def accuracy(self) -> float:
        """wins / pairs (0.0 for no pairs)."""
        return self.wins / self.pairs if self.pairs else 0.0

    def as_dict(self) -> dict[str, object]:
        """The JSON shape the CLI prints."""
        return {"accuracy": self.accuracy, "pairs": self.pairs, "wins": self.wins,
                "mean_margin": self.mean_margin}


def preference_result(chosen: Sequence[float], rejected: Sequence[float]) -> PreferenceResult:
    """Score pairs from the log-probabilities of their chosen and rejected answers (a tie is a loss)."""
    if len(chosen) != len(rejected):
        raise ValueError("one chosen and one rejected log-probability per pair")
    margins = [c - r for c, r in zip(chosen, rejected, strict=True)]
    wins = sum(1 for m in margins if m > 0)
    return PreferenceResult(len(margins), wins, sum(margins) / len(margins) if margins else 0.0)


def identical_share(first: Sequence[str], second: Sequence[str]) -> float:
    """The share of positions where two models' outputs are exactly equal (1.0 for no outputs)."""
    if len(first) != len(second):
        raise ValueError("both models must answer the same prompts")
    if not first:
        return 1.0
    return sum(1 for a, b in zip(first, second, strict=True) if a == b) / len(first)


# Losses closer than this are "the same number": a zero adapter gives bit-identical logits, and
# float32 summation over a validation set does not drift anywhere near this far.
SAME_LOSS_TOLERANCE = 1e-6


def same_loss(first: LossResult | None, second: LossResult | None) -> bool:
    """Whether two losses on the same data are equal up to float noise (False if one is missing)."""
    if first is None or second is None:
        return False
    return abs(first.loss - second.loss) <= SAME_LOSS_TOLERANCE * max(1.0, abs(first.loss))
