"""The dynamic prompt's rules: which answers become few-shot exemplars, and which come back.

Pure: the use cases in ``evotr.application.exemplars`` read the store and the embedder and apply
these decisions. An answer the user rated 👍 is an exemplar as it was; a correction makes the
corrected text the exemplar's answer; a 👎 (or a later 👎 on the same turn) means none. One turn
has at most one exemplar (its id comes from the turn id), so the latest verdict always wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from evotr.domain.conversation import ExchangeTurn, Message, Role
from evotr.domain.feedback import FeedbackKind
from evotr.domain.intents import Intent
from evotr.domain.memory import MemoryHit
from evotr.domain.text import fold
from evotr.domain.validation import non_negative_int, positive_int

# Metadata of an exemplar record beside MemoryMetadata's standard keys: the answer shown as the
# assistant's turn (the record's text is the question, which is what similarity is measured on),
# and the verdict that made it.
ANSWER, VERDICT = "answer", "verdict"


def normalise(message: str) -> str:
    """The cache's key for a message: Turkish casefold, diacritics folded, whitespace collapsed.

    "Python'da  LİSTE nasıl sıralanır" and "python'da liste nasil siralanir" share one key,
    since they are the same question and get the same exemplars.
    """
    return " ".join(fold(message).casefold().split())


def exemplar_id(turn_id: str) -> str:
    """One exemplar per turn: a second verdict on the turn replaces (or removes) the first's."""
    return f"x-{turn_id}"


def exemplar_answer(kind: FeedbackKind, reply: str, correction: str | None) -> str | None:
    """The answer a verdict teaches: the reply for 👍, the corrected text, or None for 👎.

    A 👍 on an empty reply teaches nothing (a few-shot turn needs an answer).
    """
    if kind is FeedbackKind.CORRECTION:
        return correction if correction and correction.strip() else None
    if kind is FeedbackKind.THUMBS_UP:
        return reply if reply.strip() else None
    return None


def _similarity(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    from evotr.domain.errors import DomainValidationError

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1.0 <= value <= 1.0:
        raise DomainValidationError(attribute.name, f"must be a similarity between -1 and 1, got {value!r}")


@attrs.frozen(slots=True)
class ExemplarPolicy:
    """How many exemplars a prompt gets (``k``; 0 turns the dynamic prompt off), how similar they
    must be (``floor``) and how many messages' picks the cache keeps (``cache_size``)."""

    k: int = attrs.field(default=2, validator=non_negative_int)
    floor: float = attrs.field(default=0.5, validator=_similarity)
    cache_size: int = attrs.field(default=256, validator=positive_int)


@attrs.frozen(slots=True)
class Exemplar:
    """A past question of an intent and the answer the user approved or wrote."""

    id: str
    intent: Intent
    question: str
    answer: str
    score: float = 1.0

    def turn(self) -> ExchangeTurn:
        """The exemplar as a user/assistant pair placed before the conversation."""
        return ExchangeTurn(Message(Role.USER, self.question), Message(Role.ASSISTANT, self.answer))


def pick(hits: Sequence[MemoryHit], intent: Intent, policy: ExemplarPolicy) -> tuple[Exemplar, ...]:
    """The ``k`` most similar exemplars of ``intent`` at or above the floor, best first.

    Hits of another intent are ignored even if the store returned them: a code answer as a
    few-shot example for a chat question would teach the wrong register.
    """
    chosen: list[Exemplar] = []
    for hit in sorted(hits, key=lambda h: -h.score):
        meta = hit.record.metadata
        answer = meta.get(ANSWER)
        if meta.get("intent") != intent.value or hit.score < policy.floor or not isinstance(answer, str) \
                or not answer.strip():
            continue
        chosen.append(Exemplar(hit.record.id, intent, hit.record.text, answer, hit.score))
        if len(chosen) >= policy.k:
            break
    return tuple(chosen)
