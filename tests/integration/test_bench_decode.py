"""bench_decode.py and peer_peft.py on the tiny shape: the harness runs and records what it claims."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.integration

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def test_bench_decode_on_the_tiny_shape(tmp_path: Path) -> None:
    bench = load("bench_decode")
    out = tmp_path / "decode.json"
    code = bench.main(["--shapes", "tiny", "--precisions", "4bit,bf16", "--reps", "2", "--tokens", "6",
                       "--variants", "stock,add+qkv,merged", "--variant-reps", "1", "--switches", "10",
                       "--cache", str(tmp_path / "cache"), "--out", str(out)])
    result = json.loads(out.read_text("utf-8"))
    assert code == (0 if result["pass"]["all"] else 1)
    assert result["machine"]["tag"] and result["not_run"]  # the CPU run says the 3B shape was left out
    assert [(r["shape"], r["precision"]) for r in result["runs"]] == [("tiny", "4bit"), ("tiny", "bf16")]
    for run in result["runs"]:
        modes = run["modes"]
        for mode in ("plain", "none", "adapter", "stock", "add+qkv"):
            assert len(modes[mode]["steady_tps"]) == (2 if mode in ("plain", "none", "adapter") else 1)
            assert modes[mode]["median"] > 0 and modes[mode]["ratio"] > 0
        assert modes["plain"]["ratio"] == 1.0
        assert run["checks"]["none_bit_identical_to_plain"] is True
        assert run["tokens_equal"]["none_vs_plain"] is True
        assert run["checks"]["adapter_vs_plain_max_abs"] > 1e-3  # the adapter really acts
        assert run["checks"]["adapter_vs_stock_rel"] < bench.TARGETS["adapter_rel_diff_max_fp32"]
        assert run["switch"]["none_adapter"]["n"] == 10
        assert run["memory"]["adapters_active_bytes"] > 0
    # Merging needs unquantized weights: skipped (and said why) on 4-bit, measured on bf16.
    assert "skipped" in result["runs"][0]["modes"]["merged"]
    assert result["runs"][1]["modes"]["merged"]["merged_weight_bytes"] > 0


def test_peer_peft_skips_in_one_line_without_torch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if importlib.util.find_spec("torch") and importlib.util.find_spec("peft"):
        pytest.skip("torch and peft are installed here: the peer really runs")
    out = tmp_path / "peft.json"
    assert load("peer_peft").main(["--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("peer_peft: skipped:")
    assert not out.exists()
