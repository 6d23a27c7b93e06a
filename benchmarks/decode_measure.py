"""Greedy decode tokens/s of the backend's model as base and with an adapter active."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shaped_adapters import adapter_version

# Short: the prompt's prefill is not what is measured, and on a small CPU it costs seconds.
PROMPT = "Merhaba!"
# Tokens of the warm-up decode, whose output also shows whether the adapter changes anything.
WARMUP_TOKENS = 8


def decode(model: Any, prompt: list[int], tokens: int) -> tuple[float, list[int]]:
    """Greedy decode ``tokens`` tokens; tokens/s after the first, like mlx-lm's generation_tps.

    ``generate_step`` is the loop ``stream_generate`` runs, without its stop-on-EOS: a random
    model can emit an end token at any step, which would cut the measurement short.
    """
    import mlx.core as mx
    from mlx_lm.generate import generate_step

    out: list[int] = []
    start = 0.0
    for (token, _logprobs), _ in zip(generate_step(mx.array(prompt), model, max_tokens=tokens),
                                     range(tokens), strict=False):
        out.append(int(token))
        if len(out) == 1:
            start = time.perf_counter()  # the prompt (prefill) is done
    elapsed = time.perf_counter() - start
    return (len(out) - 1) / elapsed, out


def measure_decode(model_path: Path, adapter_path: Path, reps: int, tokens: int,
                   log: Callable[[str], None] = print) -> dict[str, Any]:
    """Decode tokens/s of the backend's model as base and with an adapter active, interleaved."""
    from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend

    backend = MlxLLMBackend(str(model_path))
    backend.load()
    version = adapter_version(0)
    backend.register_adapter(version, adapter_path)
    tokenizer = backend.tokenizer
    prompt = [int(i) for i in tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}], add_generation_prompt=True)]
    results: dict[str, list[float]] = {"base": [], "adapter": []}
    outputs: dict[str, list[int]] = {}
    modes = {"base": None, "adapter": version}
    for mode, active in modes.items():  # warm-up, and the tokens each produces
        backend.activate(active)
        outputs[mode] = decode(backend.model, prompt, min(tokens, WARMUP_TOKENS))[1]
    # Interleaved, so that drift in the machine's speed hits both modes alike.
    for _ in range(reps):
        for mode, active in modes.items():
            backend.activate(active)
            results[mode].append(decode(backend.model, prompt, tokens)[0])
    backend.activate(None)
    base, adapted = statistics.median(results["base"]), statistics.median(results["adapter"])
    log(f"  decode: base {base:.1f} tok/s, adapter {adapted:.1f} tok/s")
    return {
        "reps": reps, "tokens": tokens, "prompt_tokens": len(prompt),
        "base_tps": results["base"], "adapter_tps": results["adapter"],
        "base_tps_median": base, "adapter_tps_median": adapted,
        "ratio": adapted / base,
        "adapter_changes_output": outputs["base"] != outputs["adapter"],
    }
