"""Feedback kinds, stats and the training gate."""

from __future__ import annotations

from datetime import datetime

import pytest

from evotr.domain.errors import DomainValidationError
from evotr.domain.feedback import Feedback, FeedbackKind, FeedbackStats, TrainingGate
from evotr.domain.turns import TurnRecord, new_turn_id, parse_turn_id

pytestmark = pytest.mark.unit


def test_correction_needs_text() -> None:
    with pytest.raises(DomainValidationError, match="correction"):
        Feedback(new_turn_id(), FeedbackKind.CORRECTION, "  ")


def test_thumbs_carry_no_text() -> None:
    with pytest.raises(DomainValidationError, match="only a correction"):
        Feedback(new_turn_id(), "thumbs_up", "nice")


def test_unknown_kind_lists_valid_kinds() -> None:
    with pytest.raises(DomainValidationError, match="thumbs_up, thumbs_down, correction"):
        Feedback(new_turn_id(), "meh")


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(DomainValidationError, match="timezone"):
        Feedback(new_turn_id(), "thumbs_up", created_at=datetime(2024, 12, 7))


@pytest.mark.parametrize("bad", ["", "xyz", "../etc", "A" * 32, "0" * 31])
def test_turn_ids_are_validated(bad: str) -> None:
    with pytest.raises(DomainValidationError, match="turn id"):
        parse_turn_id(bad)


def test_turn_ids_are_unique() -> None:
    assert len({new_turn_id() for _ in range(1000)}) == 1000


def test_stats_total_is_the_sum() -> None:
    assert FeedbackStats(thumbs_up=1, thumbs_down=2, corrections=2).total == 5


@pytest.mark.parametrize(("corrections", "minimum", "missing", "ready"),
                         [(2, 10, 8, False), (9, 10, 1, False), (10, 10, 0, True), (15, 10, 0, True),
                          (0, 3, 3, False)])
def test_gate_opens_at_min_corrections(corrections: int, minimum: int, missing: int, ready: bool) -> None:
    status = TrainingGate(minimum).evaluate(FeedbackStats(corrections=corrections))
    assert (status.missing, status.ready) == (missing, ready)
    if not ready:
        assert f"{missing} more corrections needed for training (min {minimum})" == status.describe()


def test_gate_default_is_ten() -> None:
    assert TrainingGate().min_corrections == 10


def test_turn_record_validates_confidence_and_prompt() -> None:
    with pytest.raises(DomainValidationError, match="confidence"):
        TurnRecord("soru", "yanıt", "history", 1.2)
    with pytest.raises(DomainValidationError, match="prompt"):
        TurnRecord(" ", "yanıt", "history", 0.9)
