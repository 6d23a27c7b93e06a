"""bench_two_embedders: its rank rule and the fitting corpus (no retrieval-set text in it)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.bench_loading import BENCHMARKS, load_benchmark

pytestmark = pytest.mark.unit


def test_recall_counts_only_strictly_higher_scores_as_ahead() -> None:
    bench = load_benchmark("bench_two_embedders")
    scores = np.array([[0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],   # right one first
                       [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.1],   # right one (6) last
                       [0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1]])  # a tie with the right one is no loss
    at1, at5 = bench.recall(scores, [0, 6, 1])
    assert (at1, at5) == pytest.approx((2 / 3, 2 / 3))


def test_the_fitting_corpus_holds_no_retrieval_set_text() -> None:
    bench = load_benchmark("bench_two_embedders")
    corpus = set(bench.fit_corpus())
    assert len(corpus) > 500
    for path in (BENCHMARKS / "data").glob("memory_retrieval_*_tr.jsonl"):
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            assert not corpus & {row.get("memory"), row.get("query"), row.get("paraphrase")}, path.name
