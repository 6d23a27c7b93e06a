"""Which labels a training run learns, and the gate's check that answers fit their own questions.

The user's labels are the only ones a real run uses. The two broken kinds are self-tests of the
promotion gate (``feedback train --swap-labels`` / ``--shuffle-labels``): a candidate trained on
them must be refused while the gate judges it on the true labels.

``mismatch_pairs`` gives the gate a measure that style cannot pass: for each trained correction,
the model should prefer it over *another* question's correction as the answer to its own
question. A model that only learned the corrections' style (short, factual sentences) does not
improve on that, and one trained on shuffled answers gets worse: it has learned to say the
wrong fact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from enum import StrEnum

import attrs

from evotr.domain.evaluation import PreferencePair
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


def _hash_order(example: FeedbackExample) -> str:
    return hashlib.sha256(f"decoy:{example.turn_id}".encode()).hexdigest()


def mismatch_pairs(examples: Sequence[FeedbackExample]) -> list[PreferencePair]:
    """(own correction ≻ another question's correction) on each corrected example's prompt.

    The other correction is the next one in an order fixed by a hash of the turn ids (not the
    order of ``examples``, so a shuffle by rotation is not mirrored by the decoys), skipping any
    with the same text; examples with no different correction available give no pair.
    """
    ordered = sorted(_corrected(examples), key=_hash_order)
    pairs: list[PreferencePair] = []
    for i, example in enumerate(ordered):
        own = example.correction
        assert own is not None
        decoy = next((o.correction for o in ordered[i + 1:] + ordered[:i]
                      if o.correction is not None and o.correction.strip() != own.strip()), None)
        if decoy is None:
            continue
        pairs.append(PreferencePair(example.prompt, own, decoy, where=f"turn {example.turn_id} (decoy)",
                                    context=example.messages[:-1]))
    return pairs
