"""bench_two_embedders: its rank rule and the fitting corpus (no retrieval-set text in it)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.unit

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _bench():  # type: ignore[no-untyped-def]
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    path = BENCHMARKS / "bench_two_embedders.py"
    spec = importlib.util.spec_from_file_location("bench_two_embedders", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recall_counts_only_strictly_higher_scores_as_ahead() -> None:
    bench = _bench()
    scores = np.array([[0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],   # right one first
                       [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.1],   # right one (6) last
                       [0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1]])  # a tie with the right one is no loss
    at1, at5 = bench.recall(scores, [0, 6, 1])
    assert (at1, at5) == pytest.approx((2 / 3, 2 / 3))


def test_the_fitting_corpus_holds_no_retrieval_set_text() -> None:
    bench = _bench()
    corpus = set(bench.fit_corpus())
    assert len(corpus) > 500
    for path in (BENCHMARKS / "data").glob("memory_retrieval_*_tr.jsonl"):
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            assert not corpus & {row.get("memory"), row.get("query"), row.get("paraphrase")}, path.name
