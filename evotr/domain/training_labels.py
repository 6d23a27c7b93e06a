"""Which labels a training run learns, and the gate's check that answers fit their own questions.

The user's labels are the only ones a real run uses. The two broken kinds are self-tests of the
promotion gate (``feedback train --swap-labels`` / ``--shuffle-labels``): a candidate trained on
them must be refused while the gate judges it on the true labels.

``answer_matches`` gives the gate a measure that style cannot pass: for each trained correction,
the model should prefer it over *other* questions' corrections as the answer to its own
question. A model that only learned the corrections' style (short, factual sentences) does not
improve on that, and one trained on shuffled answers gets worse: it has learned to say the
wrong fact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from enum import StrEnum

import attrs

from evotr.domain.conversation import Message
from evotr.domain.learning import FeedbackExample
from evotr.domain.validation import parse_enum


class TrainLabels(StrEnum):
    """The user's labels, or a deliberately broken set that the gate must refuse."""

    TRUE = "true"
    SWAPPED = "swapped"  # every label reversed: the original answer is the target
    SHUFFLED = "shuffled"  # each question gets another question's correction

    @classmethod
    def parse(cls, name: str) -> TrainLabels:
        """Parse a label kind; unknown names list the valid ones."""
        return parse_enum(cls, name, "labels", "training labels")


def _corrected(examples: Sequence[FeedbackExample]) -> list[FeedbackExample]:
    return [e for e in examples if e.correction is not None]


def shuffled_labels(examples: Sequence[FeedbackExample]) -> list[FeedbackExample]:
    """Each corrected example with the next corrected example's correction (a rotation by one).

    A rotation is a derangement: no question keeps its own answer. Fewer than two corrections
    cannot be shuffled and come back unchanged.
    """
    corrected = _corrected(examples)
    if len(corrected) < 2:
        return list(examples)
    moved = {id(e): corrected[(i + 1) % len(corrected)].correction for i, e in enumerate(corrected)}
    return [attrs.evolve(e, correction=moved[id(e)]) if id(e) in moved else e for e in examples]


# Other questions' corrections each trained answer is set against. A candidate trained on shuffled
# answers prefers, for question i, the answer it was taught for i; when that one is among i's
# decoys, i fails. With 4 decoys of 39 others ~10 % of the items catch it (all of them with ≤ 5
# others), far beyond the gate's tolerance, for 5 scorings per item.
MATCH_DECOYS = 4


@attrs.frozen(slots=True)
class AnswerMatch:
    """One trained turn: the messages the user saw, its own correction and other turns' ones."""

    messages: tuple[Message, ...]
    own: str
    decoys: tuple[str, ...]
    where: str = ""


def _hash_order(example: FeedbackExample, salt: str = "") -> str:
    return hashlib.sha256(f"decoy:{salt}:{example.turn_id}".encode()).hexdigest()


def answer_matches(examples: Sequence[FeedbackExample], decoys: int = MATCH_DECOYS) -> list[AnswerMatch]:
    """For each corrected example, up to ``decoys`` OTHER corrections (different text) to beat.

    The decoys are picked in an order fixed by a hash of the turn ids (not the order of
    ``examples``, so no shuffle of it is mirrored); examples with no different correction
    available give none.
    """
    corrected = _corrected(examples)
    matches: list[AnswerMatch] = []
    for example in corrected:
        own = example.correction
        assert own is not None
        others = sorted((o for o in corrected if o is not example),
                        key=lambda o: _hash_order(o, str(example.turn_id)))
        texts: list[str] = []
        for other in others:
            text = other.correction or ""
            if text.strip() != own.strip() and text not in texts:
                texts.append(text)
            if len(texts) == decoys:
                break
        if texts:
            matches.append(AnswerMatch(example.messages, own, tuple(texts), f"turn {example.turn_id}"))
    return matches
