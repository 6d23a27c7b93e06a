"""bench_embedders: its metrics on hand-made scores, its data file, and a run on the hashing floor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.bench_loading import load_benchmark

pytestmark = pytest.mark.integration

bench = load_benchmark("bench_embedders")


def test_ranking_counts_ranks_of_the_true_column() -> None:
    scores = np.array([[0.9, 0.1, 0.2],    # truth 0 ranked 1st
                       [0.5, 0.4, 0.3],    # truth 2 ranked 3rd
                       [0.1, 0.8, 0.7]])   # truth 2 ranked 2nd
    got = bench.ranking(scores, [0, 2, 2])
    assert got == pytest.approx({"recall_at_1": 1 / 3, "recall_at_5": 1.0, "mrr": (1 + 1 / 3 + 1 / 2) / 3})


def test_separation_finds_the_cut_between_two_score_lists() -> None:
    assert bench.separation([0.8, 0.9, 0.7], [0.1, 0.2, 0.3]) == {"threshold": 0.7, "balanced_accuracy": 1.0}
    # At 0.5 one positive of two is caught and the negative rejected: (0.5 + 1) / 2.
    assert bench.separation([0.5, 0.1], [0.3]) == {"threshold": 0.5, "balanced_accuracy": 0.75}


def test_the_set_has_enough_pairs_and_distractors_with_no_duplicate_memory() -> None:
    pool, pairs = bench.load_set()
    assert len(pairs) >= 100 and len(pool) - len(pairs) >= 50
    assert len(set(pool)) == len(pool)
    assert all(q and r and q != pool[i] and r != pool[i] for i, q, r in pairs)
    ascii_only = [q for _, q, _ in pairs if q.isascii()]
    assert len(ascii_only) >= 20  # questions typed without Turkish letters


def test_a_run_on_the_hashing_floor_writes_the_table_and_json(tmp_path: Path) -> None:
    out = tmp_path / "embedders.json"
    assert bench.main(["--embedders", "hashing", "--out", str(out)]) == 0
    result = json.loads(out.read_text("utf-8"))
    floor = result["embedders"]["hashing"]
    assert floor["dimension"] == 256 and 0.3 < floor["question"]["recall_at_5"] < 0.7
    assert floor["restatement"]["recall_at_5"] > floor["question"]["recall_at_5"]
