"""bench_serve.py end to end on the tiny model with tiny numbers: the harness runs and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench_loading import load_benchmark

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_bench_serve_measures_every_client_count(tmp_path: Path) -> None:
    bench = load_benchmark("bench_serve")
    out = tmp_path / "serve.json"
    code = bench.main(["--clients", "1,2", "--requests", "2", "--max-tokens", "4", "--library-calls", "1",
                       "--classifier", "memory", "--out", str(out)])
    result = json.loads(out.read_text("utf-8"))
    phases = result["models"]["tiny"]["phases"]
    assert [p["clients"] for p in phases] == [1, 2] and all(not p["failures"] for p in phases)
    assert all(p["requests"] == 2 and p["tokens"] > 0 and p["ttft_ms"]["median"] > 0 for p in phases)
    assert result["pass"]["no_failures"] and code == (0 if result["pass"]["all"] else 1)
