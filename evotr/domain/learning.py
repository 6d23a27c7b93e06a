"""The learning loop's data: a judged turn, its training rows, the train/held-out split, DPO jobs.

Shared by the feedback export (SFT/DPO/KTO files), the preference trainer and `feedback train`.
A judged turn keeps the exact messages the model was sent, so every training row rebuilds the
prompt the user saw (system prompt, trimmed history, recalled memory, the message itself).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

import attrs

from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.errors import DomainValidationError
from evotr.domain.evaluation import PreferencePair
from evotr.domain.feedback import FeedbackKind, to_feedback_kind
from evotr.domain.intents import Intent, to_intent
from evotr.domain.turns import TurnId
from evotr.domain.validation import non_empty_text, positive_int


def _messages(value: Iterable[Message]) -> tuple[Message, ...]:
    found = tuple(value)
    if not found or found[-1].role is not Role.USER:
        raise DomainValidationError("messages", "must end with the user's message")
    return found


@attrs.frozen(slots=True)
class FeedbackExample:
    """One turn with the user's latest verdict on it, as the learning loop trains on it.

    ``messages`` are the messages the model was sent, ending with the user's message; for turns
    stored before they were recorded, the user's message alone. ``reply`` is the model's answer
    (empty when it said nothing: then only a correction makes it useful, as an SFT row).
    """

    turn_id: TurnId
    intent: Intent = attrs.field(converter=to_intent)
    messages: tuple[Message, ...] = attrs.field(converter=_messages)
    reply: str = attrs.field(validator=attrs.validators.instance_of(str))
    kind: FeedbackKind = attrs.field(converter=to_feedback_kind)
    correction: str | None = None
    adapter: AdapterVersion | None = None

    def __attrs_post_init__(self) -> None:
        if (self.kind is FeedbackKind.CORRECTION) != (self.correction is not None):
            raise DomainValidationError("correction", "a correction, and only a correction, carries text")

    @property
    def prompt(self) -> str:
        """The user's message."""
        return self.messages[-1].content

    def sft_messages(self) -> list[Message] | None:
        """The prompt followed by the corrected answer (mlx-lm chat format); None unless corrected."""
        if self.correction is None:
            return None
        return [*self.messages, Message(Role.ASSISTANT, self.correction)]

    def preference_pair(self) -> PreferencePair | None:
        """correction ≻ original reply, scored on the prompt the user saw; None unless corrected."""
        if self.correction is None or not self.reply.strip() or self.correction.strip() == self.reply.strip():
            return None
        return PreferencePair(self.prompt, self.correction, self.reply, where=f"turn {self.turn_id}",
                              context=self.messages[:-1])

    def kto_rows(self) -> list[tuple[str, bool]]:
        """(completion, desirable) rows: 👍 → reply true, 👎 → reply false, correction → both."""
        if self.kind is FeedbackKind.THUMBS_UP:
            rows = [(self.reply, True)]
        elif self.kind is FeedbackKind.THUMBS_DOWN:
            rows = [(self.reply, False)]
        else:
            assert self.correction is not None
            rows = [(self.correction, True), (self.reply, False)]
        return [(text, label) for text, label in rows if text.strip()]  # nothing said: no row


def held_out_bucket(turn_id: TurnId) -> float:
    """A stable number in [0, 1) from the turn id: the same turn always lands on the same side."""
    digest = hashlib.sha256(f"evotr-split:{turn_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@attrs.frozen(slots=True)
class FeedbackSplit:
    """Judged turns for training and the held-out ones the promotion gate measures on."""

    train: tuple[FeedbackExample, ...]
    held_out: tuple[FeedbackExample, ...]

    def as_dict(self) -> dict[str, list[str]]:
        """Turn ids on each side, as the manifest and history record them."""
        return {"train": [e.turn_id for e in self.train], "held_out": [e.turn_id for e in self.held_out]}


def split_examples(examples: Sequence[FeedbackExample], held_out_share: float = 0.2,
                   min_held_out: int = 3) -> FeedbackSplit:
    """Deterministic split by turn-id hash: at least ``held_out_share`` and ``min_held_out`` held out.

    Turns are ranked by their hash; the lowest go to held-out. Adding feedback later moves no
    existing turn from held-out into training unless the held-out count itself has to grow.
    """
    if not 0.0 < held_out_share < 1.0:
        raise DomainValidationError("held_out_share", f"must be between 0 and 1, got {held_out_share}")
    ranked = sorted(examples, key=lambda e: (held_out_bucket(e.turn_id), e.turn_id))
    count = max(min_held_out, -(-len(ranked) * held_out_share // 1))
    count = min(int(count), len(ranked))
    held = {e.turn_id for e in ranked[:count]}
    return FeedbackSplit(tuple(e for e in examples if e.turn_id not in held),
                         tuple(e for e in examples if e.turn_id in held))


def _frozen(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class PreferenceJob:
    """Train a LoRA adapter on preference pairs with DPO (or KTO) on one resident base model.

    The policy starts from ``init_adapter`` (an mlx-lm adapter folder: the SFT stage's result, else
    the family's active version) or from fresh LoRA layers shaped by ``rank``/``num_layers`` when it
    is None; the reference policy is that starting point, its log-probabilities computed once
    before training. ``extra`` passes mlx-lm LoRA keys (scale, dropout, keys, seed, …).
    """

    version: AdapterVersion
    base_model: str = attrs.field(validator=non_empty_text)
    pairs: tuple[PreferencePair, ...] = attrs.field(converter=tuple)
    init_adapter: str | None = None
    method: str = "dpo"
    beta: float = 0.1
    iterations: int = attrs.field(default=50, validator=positive_int)
    batch_size: int = attrs.field(default=2, validator=positive_int)
    learning_rate: float = 5e-5
    rank: int = attrs.field(default=8, validator=positive_int)
    num_layers: int = attrs.field(default=8, validator=positive_int)
    max_seq_length: int = attrs.field(default=512, validator=positive_int)
    # Stop once one epoch's mean loss is ≤ this (feedback_training.dpo_converged); None: every step.
    stop_loss: float | None = None
    # Train only the pairs the starting policy still ranks wrong (feedback_training.unranked_pairs).
    only_unranked: bool = False
    extra: Mapping[str, object] = attrs.field(factory=dict, converter=_frozen)

    def __attrs_post_init__(self) -> None:
        if self.method not in ("dpo", "kto"):
            raise DomainValidationError("method", f"must be dpo or kto, got {self.method!r}")
        if not self.pairs:
            raise DomainValidationError("pairs", "preference training needs at least one pair")
        if not self.beta > 0:
            raise DomainValidationError("beta", f"must be positive, got {self.beta}")


@attrs.frozen(slots=True)
class PreferenceStep:
    """One reported DPO step: loss, rewards (β·log-ratio to the reference) and accuracy."""

    iteration: int
    loss: float
    chosen_reward: float
    rejected_reward: float
    accuracy: float

    @property
    def margin(self) -> float:
        """chosen reward − rejected reward."""
        return self.chosen_reward - self.rejected_reward

    def as_dict(self) -> dict[str, float]:
        """The JSON shape kept in the manifest."""
        return {"iteration": self.iteration, "loss": self.loss, "chosen_reward": self.chosen_reward,
                "rejected_reward": self.rejected_reward, "margin": self.margin, "accuracy": self.accuracy}


@attrs.frozen(slots=True)
class PreferenceMetrics:
    """What a preference run reports: every step, time, and peak memory (MB, as mlx-lm counts it)."""

    steps: tuple[PreferenceStep, ...] = attrs.field(default=(), converter=tuple)
    duration_s: float = 0.0
    peak_memory_mb: float | None = None
    # How many pairs were trained on (fewer than the job's with ``only_unranked``); None: all.
    pairs_trained: int | None = None

    @property
    def final(self) -> PreferenceStep | None:
        """The last reported step, if any."""
        return self.steps[-1] if self.steps else None
