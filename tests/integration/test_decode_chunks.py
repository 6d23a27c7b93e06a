"""bench_decode's chunked interleaving: modes take turns, each keeps its own cache and tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from tests.bench_loading import load_benchmark

pytestmark = pytest.mark.integration


def test_modes_take_turns_and_decode_what_they_would_alone(tmp_path: Path) -> None:
    import mlx.core as mx
    import mlx_lm

    load_benchmark("bench_decode")  # puts benchmarks/ on sys.path for its sibling modules
    import decode_chunks as chunks
    import decode_compare as compare
    model = mlx_lm.load(str(ensure_tiny_model(tmp_path / "tiny")))[0]
    # A second mode on the SAME model: its final norm negated (so its logits are), swapped in and
    # out between chunks as the backend swaps LoRA wrappers, so a leak between modes would show.
    import mlx.nn as nn

    original = model.model.norm

    class Flipped(nn.Module):
        def __call__(self, x: Any) -> Any:
            return -original(x)

    flipped = Flipped()

    turns: list[str] = []

    def enter(mode: str) -> Any:
        turns.append(mode)
        model.model.norm = flipped if mode == "flipped" else original
        return model

    def leave() -> None:
        model.model.norm = original

    prompt = [1, 2, 3]
    alone = {mode: compare.timed_decode(enter(mode), prompt, 10)[2] for mode in ("plain", "flipped")}
    leave()
    turns.clear()
    got = chunks.chunked_decodes(["plain", "flipped"], enter, leave, prompt, tokens=10, chunk=4)
    assert turns == ["plain", "flipped", "flipped", "plain", "plain", "flipped"]  # 3 rounds, order reversed
    for mode in ("plain", "flipped"):
        mean, steady, tokens = got[mode]
        assert tokens == alone[mode]
        assert mean > 0 and steady > 0
    assert alone["plain"] != alone["flipped"]  # the modes differ, so the equality above means something
    with pytest.raises(ValueError, match="chunk"):
        chunks.chunked_decodes(["plain"], enter, leave, prompt, tokens=4, chunk=2)
    mx.clear_cache()


def test_bench_decode_records_chunked_runs(tmp_path: Path) -> None:
    import json

    bench = load_benchmark("bench_decode")
    out = tmp_path / "decode.json"
    bench.main(["--shapes", "tiny", "--precisions", "4bit", "--reps", "2", "--tokens", "9", "--chunk", "3",
                "--variants", "stock", "--variant-reps", "1", "--switches", "5",
                "--cache", str(tmp_path / "cache"), "--out", str(out)])
    result = json.loads(out.read_text("utf-8"))
    assert result["config"]["chunk"] == 3
    modes = result["runs"][0]["modes"]
    for mode, reps in (("plain", 2), ("none", 2), ("adapter", 2), ("stock", 1)):
        assert len(modes[mode]["steady_tps"]) == reps and len(modes[mode]["mean_tps"]) == reps
        assert modes[mode]["decode_peak_bytes"] >= 0
    assert result["runs"][0]["checks"]["none_bit_identical_to_plain"] is True
