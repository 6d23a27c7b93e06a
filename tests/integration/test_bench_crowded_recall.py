"""bench_crowded_recall runs end to end on a small crowd and writes what it printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench_loading import load_benchmark

pytestmark = pytest.mark.integration

bench = load_benchmark("bench_crowded_recall")


def test_a_crowded_store_is_measured_with_and_without_rare_words(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "crowded.json"
    assert bench.main(["--sets", "dev", "--crowd", "dev2", "--out", str(out)]) == 0
    result = json.loads(out.read_text("utf-8"))
    row = result["sets"][0]
    # The crowd is the other file's memories: the store holds both sets.
    assert row["memories"] > row["questions"]
    for label in ("rare_words", "nearest_only"):
        assert 0 < row[label]["at_5"] <= row["questions"]
        assert row[label]["at_1"] <= row[label]["at_5"]
    assert "R@5 + rare words" in capsys.readouterr().out
