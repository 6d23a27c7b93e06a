"""bench_turn_profile: its spans, timeline and paired runs on a small store (the real run is minutes)."""

from __future__ import annotations

import re

import pytest

from tests.bench_loading import load_benchmark

pytestmark = pytest.mark.integration

bench = load_benchmark("bench_turn_profile")


def _originals() -> dict[str, object]:
    from evotr.application.memory.recall import RecallMemory
    from evotr.application.recall_ahead import RecallAhead
    from evotr.infrastructure.embeddings.cache import CachedEmbedder

    return {"start": RecallAhead.start, "execute": RecallMemory.execute, "init": CachedEmbedder.__init__}


def test_profile_times_each_part_where_it_ran_and_restores(capsys: pytest.CaptureFixture[str]) -> None:
    before = _originals()
    assert bench.main(["--turns", "2", "--size", "300", "--sync"]) == 0
    out = capsys.readouterr().out
    overhead = re.search(r"^  overhead\s+([\d.]+)", out, re.MULTILINE)
    assert overhead is not None and float(overhead.group(1)) > 0
    # Recall inline: its parts ran on the main thread, in both turns.
    # The message is read by the query tower (the default), which the router shares.
    for part in ("RecallMemory.execute", "TowerEmbedder.embed", "ResidentIndex.search", "HybridRanking.rank"):
        assert re.search(rf"^  {re.escape(part)}\s+main\s+[\d.]+\s+[\d.]+\s+2/2$", out, re.MULTILINE), part
    assert re.search(r"^  RecallMemory.execute\s+main\s+start\s+[\d.]+$", out, re.MULTILINE)
    assert _originals() == before
    assert not bench._REPLACED and not bench.CACHES


def test_paired_runs_every_mode_once_per_message(capsys: pytest.CaptureFixture[str]) -> None:
    before = _originals()
    assert bench.main(["--turns", "3", "--size", "300", "--paired", "thread,sync"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "overhead median" in line]
    assert [line.split()[0] for line in lines] == ["thread", "sync"]
    assert lines[0].endswith("paired vs thread: median +0.00 mean +0.00")
    assert _originals() == before
