"""The adapter-switch benchmark harness end to end on the tiny shape (seconds, not minutes)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.bench_loading import load_benchmark

pytestmark = [pytest.mark.integration, pytest.mark.slow]

@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark('bench_adapter_switch')


def test_shaped_tiny_model_and_adapters_are_cached(bench: ModuleType, tmp_path: Path) -> None:
    shaped = bench.shaped_models
    model = shaped.ensure_model("tiny", cache_dir=tmp_path, verbose=False)
    config = json.loads((model / "config.json").read_text("utf-8"))
    assert config["quantization"] == {"group_size": 64, "bits": 4}
    assert config["vocab_size"] == 512 and config["num_hidden_layers"] == 2
    stamp = (model / "model.safetensors").stat().st_mtime_ns
    assert shaped.ensure_model("tiny", cache_dir=tmp_path, verbose=False) == model
    assert (model / "model.safetensors").stat().st_mtime_ns == stamp  # reused, not rebuilt

    import mlx.core as mx

    weights = mx.load(str(model / "model.safetensors"))
    assert weights["model.layers.0.self_attn.q_proj.scales"].dtype == mx.bfloat16
    assert weights["model.layers.0.self_attn.q_proj.weight"].dtype == mx.uint32

    adapters = bench.shaped_adapters
    first, second = adapters.ensure_adapters("tiny", 2, cache_dir=tmp_path)
    a = mx.load(str(first / "adapters.safetensors"))
    b = mx.load(str(second / "adapters.safetensors"))
    key = "model.layers.1.mlp.down_proj.lora_b"
    assert mx.any(a[key] != 0).item() and not mx.array_equal(a[key], b[key]).item()
    assert adapters.adapter_nbytes(first) == sum(v.nbytes for v in a.values())


def test_full_harness_on_the_tiny_shape(bench: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "results" / "adapter_switch.json"
    code = bench.main(["--quick", "--switch-shape", "tiny", "--decode-shape", "tiny",
                       "--cache", str(tmp_path / "cache"), "--out", str(out),
                       "--switches", "30", "--reloads", "2", "--decode-reps", "1",
                       "--decode-tokens", "8"])
    result = json.loads(out.read_text("utf-8"))
    assert not list(out.parent.glob(".*.tmp"))  # the atomic write left no temp file
    assert code == (0 if result["pass"]["all"] else 1)

    for key in ("benchmark", "quick", "machine", "config", "switch", "reload", "reload_over_switch",
                "memory", "decode", "targets", "pass", "runtime_s"):
        assert key in result, key
    for key in ("platform", "cpu_count", "mlx", "mlx_lm", "device", "date"):
        assert result["machine"][key], key
    assert result["quick"] is True
    assert result["config"]["switch_shape"] == "tiny" and result["config"]["switches"] == 30

    switch = result["switch"]
    assert switch["n"] == 30
    assert 0 < switch["median_ms"] <= switch["p95_ms"] <= switch["max_ms"]
    assert switch["lora_modules"] == 2 * 7  # both layers, every linear layer (mlx-lm's default)

    reload = result["reload"]
    assert len(reload["times_s"]) == 2
    assert reload["median_s"] * 1000 > switch["median_ms"]
    assert result["reload_over_switch"] == pytest.approx(reload["median_s"] * 1000 / switch["median_ms"])

    mem = result["memory"]
    assert mem["adapters_registered"] == 8 and len(mem["adapter_bytes_each"]) == 8
    assert mem["adapters_all_bytes"] == sum(mem["adapter_bytes_each"]) > mem["adapters_2_bytes"] > 0
    for key in ("rss_base_bytes", "rss_after_2_bytes", "rss_after_8_bytes",
                "rss_after_8_all_activated_bytes", "peak_rss_bytes"):
        assert mem[key] > 10_000_000, key
    assert mem["peak_rss_bytes"] >= mem["rss_base_bytes"]

    decode = result["decode"]
    assert decode["base_tps_median"] > 0 and decode["adapter_tps_median"] > 0
    assert decode["ratio"] == pytest.approx(decode["adapter_tps_median"] / decode["base_tps_median"])
    assert decode["adapter_changes_output"] is True

    assert set(result["pass"]) == {"switch", "reload_ratio", "memory", "decode", "all"}
    assert all(isinstance(v, bool) for v in result["pass"].values())
    assert result["targets"]["switch_median_ms_max"] == 1.0
