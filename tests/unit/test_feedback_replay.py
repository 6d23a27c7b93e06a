"""Rehearsal and early stopping in `feedback train`: the pure rules."""

from __future__ import annotations

import pytest

from evotr.domain.feedback_training import dpo_converged, pick_replay, replay_count

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("corrections", "ratio", "expected"),
                         [(7, 1.0, 7), (7, 0.5, 4), (40, 1.0, 40), (7, 0.0, 0), (0, 1.0, 0), (3, -1.0, 0)])
def test_replay_count_is_the_ceiling_of_ratio_times_corrections(corrections: int, ratio: float,
                                                                 expected: int) -> None:
    assert replay_count(corrections, ratio) == expected


def test_replay_rows_are_a_repeatable_spread_not_the_head_of_the_file() -> None:
    rows = [f"row {i}" for i in range(40)]
    picked = pick_replay(rows, 7, "tr_chat_v2")
    assert len(picked) == 7 and len(set(picked)) == 7 and set(picked) <= set(rows)
    assert picked == pick_replay(rows, 7, "tr_chat_v2")
    assert picked != rows[:7]
    assert pick_replay(rows, 7, "tr_chat_v3") != picked  # another run replays other rows
    assert sorted(pick_replay(rows, 99, "x")) == sorted(rows)  # never more than there are
    assert pick_replay(rows, 0, "x") == []


def test_dpo_stops_only_when_a_whole_epoch_is_learned() -> None:
    assert not dpo_converged([0.69, 0.01], window=3, stop_loss=0.1)  # not an epoch yet
    assert not dpo_converged([0.69, 0.01, 0.01], window=3, stop_loss=0.1)  # mean 0.237
    assert dpo_converged([0.69, 0.01, 0.01, 0.01], window=3, stop_loss=0.1)
    assert not dpo_converged([0.0] * 10, window=3, stop_loss=None)  # no stop loss: every step runs


def test_dpo_keeps_only_the_pairs_the_starting_policy_still_ranks_wrong() -> None:
    from evotr.domain.feedback_training import unranked_pairs

    assert unranked_pairs([-1.0, -5.0, -2.0, -3.0], [-2.0, -1.0, -2.0, -9.0]) == [1, 2]  # a tie is not ranked
    assert unranked_pairs([-1.0], [-2.0]) == []
    with pytest.raises(ValueError):
        unranked_pairs([-1.0], [])
