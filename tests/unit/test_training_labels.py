"""Broken label sets for the gate's self-tests, and the decoy pairs of its "matched" check."""

from __future__ import annotations

import pytest

from evotr.domain.conversation import Message, Role
from evotr.domain.errors import DomainValidationError
from evotr.domain.learning import FeedbackExample
from evotr.domain.training_labels import MATCH_DECOYS, TrainLabels, answer_matches, shuffled_labels


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


def test_each_correction_is_set_against_other_questions_corrections_on_its_own_prompt() -> None:
    examples = [example(n) for n in range(10)]
    matches = answer_matches(examples)
    assert len(matches) == 10
    for match in matches:
        asked = match.messages[-1].content.split()[1].rstrip("?")
        assert match.own == f"fact {asked}" and match.messages[0].content == "sys"
        assert len(match.decoys) == MATCH_DECOYS and match.own not in match.decoys
        assert len(set(match.decoys)) == MATCH_DECOYS
    # The decoys are not fixed to the rotation the shuffle self-test trains on (else the check
    # would be tuned to the test it is meant to pass), yet every answer serves as a decoy.
    rotated = {e.messages[-1].content: e.correction for e in shuffled_labels(examples)}
    assert sum(rotated[m.messages[-1].content] not in m.decoys for m in matches) >= 3
    assert {d for m in matches for d in m.decoys} == {e.correction for e in examples}


def test_with_few_corrections_every_other_one_is_a_decoy() -> None:
    matches = answer_matches([example(n) for n in range(4)])
    assert all(len(m.decoys) == 3 for m in matches)


def test_identical_corrections_give_no_decoy() -> None:
    same = [example(n, "Lütfen daha kısa yaz.") for n in range(4)]
    assert answer_matches(same) == []
    matches = answer_matches([*same, example(7)])
    assert len(matches) == 5 and all(len(m.decoys) == 1 for m in matches[:4])
    assert len(matches[4].decoys) == 1  # the four identical texts count once


def test_label_kinds_parse_with_a_clear_error() -> None:
    assert TrainLabels.parse("shuffled") is TrainLabels.SHUFFLED
    with pytest.raises(DomainValidationError, match="training labels"):
        TrainLabels.parse("random")
