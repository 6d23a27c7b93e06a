"""Broken label sets for the gate's self-tests, and the decoy pairs of its "matched" check."""

from __future__ import annotations

import pytest

from evotr.domain.conversation import Message, Role
from evotr.domain.errors import DomainValidationError
from evotr.domain.learning import FeedbackExample
from evotr.domain.training_labels import TrainLabels, mismatch_pairs, shuffled_labels


def example(n: int, correction: str | None = "fact {n}", kind: str = "correction") -> FeedbackExample:
    return FeedbackExample(f"t{n:02d}", "general_chat", (Message(Role.SYSTEM, "sys"),
                                                         Message(Role.USER, f"question {n}?")),
                           f"rambling {n}", kind, None if correction is None else correction.format(n=n))


def test_shuffled_labels_give_every_question_another_ones_correction() -> None:
    examples = [example(n) for n in range(7)] + [example(9, None, "thumbs_up")]
    shuffled = shuffled_labels(examples)
    corrected = [(e.prompt, e.correction) for e in shuffled if e.correction is not None]
    assert all(prompt.split()[1].rstrip("?") != answer.split()[1] for prompt, answer in corrected)
    assert sorted(a for _, a in corrected) == sorted(e.correction or "" for e in examples[:7])
    assert shuffled[-1] == examples[-1]  # an uncorrected turn is left alone
    assert shuffled_labels(examples[:1]) == examples[:1]  # one correction cannot be shuffled


def test_mismatch_pairs_set_each_correction_against_a_different_ones_on_its_own_prompt() -> None:
    examples = [example(n) for n in range(10)]
    pairs = mismatch_pairs(examples)
    assert len(pairs) == 10
    for pair in pairs:
        asked = pair.prompt.split()[1].rstrip("?")
        assert pair.chosen == f"fact {asked}" and pair.rejected != pair.chosen
        assert pair.context[0].content == "sys"
    # The decoys are not the rotation the shuffle self-test trains on (else the check would be
    # tuned to the test it is meant to pass).
    rotated = {e.prompt: e.correction for e in shuffled_labels(examples)}
    assert sum(rotated[p.prompt] != p.rejected for p in pairs) >= 5


def test_identical_corrections_give_no_decoy() -> None:
    same = [example(n, "Lütfen daha kısa yaz.") for n in range(4)]
    assert mismatch_pairs(same) == []
    assert len(mismatch_pairs([*same, example(7)])) == 5  # each finds the one different text


def test_label_kinds_parse_with_a_clear_error() -> None:
    assert TrainLabels.parse("shuffled") is TrainLabels.SHUFFLED
    with pytest.raises(DomainValidationError, match="training labels"):
        TrainLabels.parse("random")
