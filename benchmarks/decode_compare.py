"""Decode tokens/s of three models of one checkpoint, interleaved: plain, evotr none, evotr adapter.

* ``plain``: ``mlx_lm.load`` with no LoRA layers, prepared as evotr's backend prepares its model
  at load time (on the CPU: bf16 -> float32 and one-row products as sgemv; on a GPU: nothing),
  so that the ratios measure LoRA and nothing else;
* ``none``: ``MlxLLMBackend`` with adapters registered and none active;
* ``adapter``: the same backend with an adapter active;
* optional variants (``lora_variants``): other ways to compute the adapter, in the plain model.

Every repetition decodes each mode once, in turn (the order reversed every other repetition),
so drift in the machine's speed hits them alike. Each decode gives two rates: ``mean`` (tokens
after the first over their time, as mlx-lm reports generation speed) and ``steady`` (one over
the median gap between tokens: what a token costs, without the stalls, e.g. scheduling or the
garbage collector, that made single decodes on the lent GPU machine swing by ±25 %). Ratios
use ``steady``; both are in the JSON. Python's garbage is collected before each decode and the
loaded models are frozen out of the collector (``gc.freeze``), for every mode alike.

Also measured: device memory (``mx.get_active_memory`` / ``get_peak_memory``: MLX's own
allocations, on the GPU the device's), host RSS, the switch time, and the outputs: ``none``
against plain (bit for bit) and ``adapter`` against a stock ``mlx_lm.load(base, adapter_path)``.
"""

from __future__ import annotations

import gc
import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lora_variants
from bench_support import MB, peak_rss_bytes, release_garbage, rss_bytes, summary
from decode_chunks import chunked_decodes
from decode_measure import PROMPT, WARMUP_TOKENS
from shaped_adapters import adapter_nbytes, adapter_version


def load_plain(model_path: Path, adapter: Path | None = None) -> tuple[Any, Any]:
    """Stock ``mlx_lm.load`` (with ``adapter`` if given), prepared like the backend's model."""
    import mlx.core as mx
    import mlx_lm

    from evotr.infrastructure.mlx.blas import prepare_blas
    from evotr.infrastructure.mlx.decode_gemv import use_gemv_decode
    from evotr.infrastructure.mlx.precision import float32_on_cpu

    model, tokenizer = mlx_lm.load(str(model_path),
                                   adapter_path=None if adapter is None else str(adapter))[:2]
    float32_on_cpu(model)
    blas = prepare_blas()
    use_gemv_decode(model, blas.path, blas.optimised)
    mx.eval(model.parameters())
    return model, tokenizer


def timed_decode(model: Any, prompt: list[int], tokens: int) -> tuple[float, float, list[int]]:
    """Greedy ``tokens`` tokens with ``generate_step``: (mean tok/s, steady tok/s, the tokens).

    Both rates leave out the first token (the prompt's prefill). No stop on EOS: a random
    model can emit one at any step, which would cut the measurement short.
    """
    import mlx.core as mx
    from mlx_lm.generate import generate_step

    gc.collect()
    out: list[int] = []
    stamps: list[float] = []
    for (token, _logprobs), _ in zip(generate_step(mx.array(prompt), model, max_tokens=tokens),
                                     range(tokens), strict=False):
        out.append(int(token))
        stamps.append(time.perf_counter())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return (len(gaps) / (stamps[-1] - stamps[0]), 1 / statistics.median(gaps), out)


def _rate(values: Sequence[float], steady: Sequence[float]) -> dict[str, Any]:
    stats, mean = summary(steady), summary(values)
    return {"steady_tps": list(steady), "median": stats["median"], "min": stats["min"],
            "max": stats["max"], "spread": (stats["max"] - stats["min"]) / stats["median"],
            "mean_tps": list(values), "mean_median": mean["median"],
            "mean_spread": (mean["max"] - mean["min"]) / mean["median"]}


def _last_logits(model: Any, ids: Sequence[int]) -> Any:
    import mlx.core as mx

    out = model(mx.array([list(ids)]))[0, -1].astype(mx.float32)
    mx.eval(out)
    return out


def check_outputs(plain: Any, backend: Any, version: Any, model_path: Path, adapter: Path,
                  prompt: list[int]) -> dict[str, Any]:
    """``none`` vs plain bit for bit (prompt and one-row forward); ``adapter`` vs stock."""
    import mlx.core as mx

    inputs = (prompt, prompt[-1:])  # a prompt (many rows) and a decode-sized row
    backend.activate(None)
    plain_out = [_last_logits(plain, ids) for ids in inputs]
    none_out = [_last_logits(backend.model, ids) for ids in inputs]
    backend.activate(version)
    adapter_out = [_last_logits(backend.model, ids) for ids in inputs]
    backend.activate(None)
    stock = load_plain(model_path, adapter)[0]
    stock_out = [_last_logits(stock, ids) for ids in inputs]
    del stock
    release_garbage()
    diff = max(float(mx.abs(a - s).max().item()) for a, s in zip(adapter_out, stock_out, strict=True))
    scale = max(float(mx.abs(s).max().item()) for s in stock_out)
    moved = max(float(mx.abs(a - p).max().item()) for a, p in zip(adapter_out, plain_out, strict=True))
    again = [_last_logits(plain, ids) for ids in inputs]  # is the device itself repeatable?
    return {
        "none_bit_identical_to_plain": all(mx.array_equal(n, p).item()
                                           for n, p in zip(none_out, plain_out, strict=True)),
        "plain_repeat_bit_identical": all(mx.array_equal(a, p).item()
                                          for a, p in zip(again, plain_out, strict=True)),
        "adapter_vs_stock_max_abs": diff, "stock_logit_max_abs": scale,
        "adapter_vs_stock_rel": diff / scale if scale else diff,
        "adapter_vs_plain_max_abs": moved,
    }


def _switch_ms(backend: Any, first: Any, second: Any, count: int) -> dict[str, float]:
    times = []
    for i in range(count):
        started = time.perf_counter()
        backend.activate(first if i % 2 == 0 else second)
        times.append((time.perf_counter() - started) * 1000)
    backend.activate(None)
    stats = summary(times)
    return {"median_ms": stats["median"], "p95_ms": stats["p95"], "max_ms": stats["max"], "n": count}


def measure(model_path: Path, adapters: Sequence[Path], *, reps: int, tokens: int,
            variants: Sequence[str] = (), variant_reps: int = 3, switches: int = 200,
            chunk: int = 0, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Load, check the outputs, then decode every mode ``reps`` times, interleaved.

    ``chunk`` 0: each mode decodes its ``tokens`` in one go, in turn; else the modes take turns
    ``chunk`` tokens at a time (``decode_chunks``), and each mode's device-memory peak comes
    from one more decode of its own after the timed repetitions.
    """
    import mlx.core as mx

    from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend
    from evotr.infrastructure.mlx.precision import compute_dtype

    release_garbage()
    mx.reset_peak_memory()
    memory: dict[str, Any] = {"start_active_bytes": int(mx.get_active_memory())}
    plain, tokenizer = load_plain(model_path)
    memory["plain_model_bytes"] = int(mx.get_active_memory()) - memory["start_active_bytes"]
    backend = MlxLLMBackend(str(model_path))
    backend.load()
    mx.eval(backend.model.parameters())
    loaded = int(mx.get_active_memory())
    versions = [adapter_version(i) for i in range(len(adapters))]
    for version, path in zip(versions, adapters, strict=True):
        backend.register_adapter(version, path)
    release_garbage()
    memory["adapters_active_bytes"] = int(mx.get_active_memory()) - loaded
    memory["adapters_file_bytes"] = sum(adapter_nbytes(path) for path in adapters)
    prompt = [int(i) for i in tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}], add_generation_prompt=True)]
    checks = check_outputs(plain, backend, versions[0], model_path, adapters[0], prompt)
    # Both models, the adapters and a stock model with the adapter, once each: the load peak.
    memory["load_peak_active_bytes"] = int(mx.get_peak_memory())
    log(f"  none bit-identical to plain: {checks['none_bit_identical_to_plain']}; adapter vs stock "
        f"max |diff| {checks['adapter_vs_stock_max_abs']:.3g} "
        f"(logits up to {checks['stock_logit_max_abs']:.3g})")

    bases = dict(plain.named_modules())
    built: dict[str, dict[str, Any]] = {}
    facts: dict[str, Any] = {}
    for name in variants:
        modules, facts[name] = lora_variants.build(name, bases, adapters[0], compute_dtype(plain))
        if modules:
            built[name] = modules
    installed: list[Any] = []

    def enter(mode: str) -> Any:
        if mode in ("none", "adapter"):
            backend.activate(None if mode == "none" else versions[0])
            return backend.model
        if mode in built:
            installed.append(lora_variants.Installed(plain, built[mode]))
        return plain

    def leave() -> None:
        while installed:
            installed.pop().remove()

    def alone(mode: str) -> tuple[float, float, int]:
        """One whole decode of ``mode``: mean and steady tok/s, device memory over the resident."""
        target = enter(mode)
        before = int(mx.get_active_memory())
        mx.reset_peak_memory()
        mean, typical, _tokens = timed_decode(target, prompt, tokens)
        peak = int(mx.get_peak_memory()) - before
        leave()
        return mean, typical, peak

    main_modes = ("plain", "none", "adapter")
    rates: dict[str, list[float]] = {mode: [] for mode in (*main_modes, *built)}
    steady: dict[str, list[float]] = {mode: [] for mode in rates}
    peaks: dict[str, int] = dict.fromkeys(rates, 0)
    first_tokens: dict[str, list[int]] = {}
    for mode in rates:  # warm-up (kernels, caches), and the first tokens of each mode
        first_tokens[mode] = timed_decode(enter(mode), prompt, WARMUP_TOKENS)[2]
        leave()
    gc.freeze()  # everything loaded so far stays out of the collector's full passes
    for rep in range(reps):
        order = [*main_modes, *(built if rep < variant_reps else ())]
        if rep % 2:
            order.reverse()
        if chunk:
            for mode, (mean, typical, _tokens) in chunked_decodes(order, enter, leave, prompt,
                                                                  tokens, chunk).items():
                rates[mode].append(mean)
                steady[mode].append(typical)
        for mode in () if chunk else order:
            mean, typical, peak = alone(mode)
            rates[mode].append(mean)
            steady[mode].append(typical)
            peaks[mode] = max(peaks[mode], peak)
        log(f"  rep {rep + 1}/{reps} (steady/mean tok/s): "
            + ", ".join(f"{m} {steady[m][-1]:.1f}/{rates[m][-1]:.1f}" for m in main_modes))
    for mode in rates if chunk else ():  # device memory of a decode, one mode at a time
        peaks[mode] = alone(mode)[2]
    gc.unfreeze()
    switch = {"none_adapter": _switch_ms(backend, versions[0], None, switches)}
    if len(versions) > 1:
        switch["adapter_adapter"] = _switch_ms(backend, versions[0], versions[1], switches)
    plain_steady, plain_mean = statistics.median(steady["plain"]), statistics.median(rates["plain"])
    modes = {mode: {**_rate(values, steady[mode]), "ratio": statistics.median(steady[mode]) / plain_steady,
                    "mean_ratio": statistics.median(values) / plain_mean,
                    "decode_peak_bytes": peaks[mode]} for mode, values in rates.items() if values}
    for name, fact in facts.items():
        modes.setdefault(name, {}).update(fact)
    memory.update(rss_bytes=rss_bytes(), peak_rss_bytes=peak_rss_bytes(),
                  end_active_bytes=int(mx.get_active_memory()))
    log("  steady medians: " + ", ".join(f"{m} {modes[m]['median']:.1f} tok/s ({modes[m]['ratio']:.3f}x)"
                                   for m in modes if "median" in modes[m])
        + f"; switch {switch['none_adapter']['median_ms']:.4f} ms; RSS {memory['rss_bytes'] / MB:.0f} MB")
    return {"modes": modes, "checks": checks, "switch": switch, "memory": memory,
            "compute_dtype": str(compute_dtype(plain)).replace("mlx.core.", ""),
            "tokens_equal": {"none_vs_plain": first_tokens["none"] == first_tokens["plain"],
                             "adapter_vs_plain": first_tokens["adapter"] == first_tokens["plain"]},
            "prompt_tokens": len(prompt)}
