"""Adapter hot-swap benchmark (issue 3 item 6): switch vs reload, memory, decode overhead.

    python benchmarks/bench_adapter_switch.py [--quick]

On random-weight models shaped like Qwen2.5 (``shaped_models.py``, built once into
``benchmarks/.cache/``) it measures

* the time of ``MlxLLMBackend.activate`` alternating between two registered adapters, each
  switch timed together with an ``mx.eval`` of the LoRA arrays the model then holds (3B shape);
* a full ``mlx_lm.load(path, adapter_path=...)`` with every parameter evaluated, and its ratio
  to a switch (3B shape);
* resident memory after loading the base model and after registering 2 and 8 adapters, next to
  the adapters' own size (3B shape);
* greedy decode tokens/s with and without an adapter (0.5B shape; the 3B shape decodes at about
  half a token a second on a small CPU, so it never decodes here).

Results go to a table on stdout and to ``benchmarks/results/adapter_switch.json``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import shaped_models  # noqa: E402

RESULTS = _HERE / "results" / "adapter_switch.json"
MB = 1_000_000

TARGETS: dict[str, Any] = {
    "switch_median_ms_max": 1.0,
    "reload_over_switch_min": 200.0,
    "memory_growth_max_factor": 1.5,
    "memory_growth_slack_bytes": 20 * MB,
    "decode_ratio_min": 0.85,
}

FULL = {"switches": 400, "reloads": 5, "decode_reps": 5, "decode_tokens": 32}
QUICK = {"switches": 50, "reloads": 2, "decode_reps": 2, "decode_tokens": 16}
PROMPT = "Merhaba! Python'da bir listeyi nasıl ters çeviririm? Kısaca anlat."


# ---------------------------------------------------------------------------------------------
# Process and machine facts


def rss_bytes() -> int:
    """Resident set size now (Linux /proc); elsewhere the peak, the best getrusage offers."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """Peak resident set size of this process."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # bytes on macOS, KiB else


def settled_rss() -> int:
    """RSS once Python garbage and MLX's buffer cache are released."""
    import mlx.core as mx

    gc.collect()
    mx.clear_cache()
    return rss_bytes()


def machine_info() -> dict[str, Any]:
    import mlx.core as mx
    import mlx_lm

    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "mlx": mx.__version__,
        "mlx_lm": mlx_lm.__version__,
        "device": str(mx.default_device()),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


# ---------------------------------------------------------------------------------------------
# Statistics


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default method) without numpy."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "p95": percentile(values, 95),
            "mean": statistics.fmean(values), "min": min(values), "max": max(values)}


# ---------------------------------------------------------------------------------------------
# The backend


def _version(name: str) -> Any:
    from evotr.domain.adapters import AdapterVersion

    return AdapterVersion.parse(name)


def lora_modules(model: Any) -> list[Any]:
    """The modules that hold LoRA arrays (a parameter named lora_*), resolved by path.

    The backend wraps modules when an adapter registration needs it and afterwards only
    swaps arrays on the wrappers, so call this again after registering.
    """
    from mlx.utils import tree_flatten

    paths = set()
    for name, _ in tree_flatten(model.parameters()):
        module, _, leaf = name.rpartition(".")
        if leaf.startswith("lora"):
            paths.add(module)
    return [_resolve(model, path) for path in sorted(paths)]


def _resolve(model: Any, path: str) -> Any:
    obj = model
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def lora_arrays(modules: Sequence[Any]) -> list[Any]:
    """The LoRA arrays ``modules`` hold right now (read afresh on every call)."""
    import mlx.core as mx

    return [v for m in modules for k, v in m.items() if k.startswith("lora") and isinstance(v, mx.array)]


def timed_switch(backend: Any, version: Any, modules: Sequence[Any]) -> float:
    """Seconds for ``backend.activate(version)`` plus an ``mx.eval`` of the model's LoRA arrays."""
    import mlx.core as mx

    start = time.perf_counter()
    backend.activate(version)
    mx.eval(lora_arrays(modules))
    return time.perf_counter() - start


def measure_switch_and_memory(model_path: Path, adapter_paths: Sequence[Path], switches: int,
                              log: Callable[[str], None] = print) -> dict[str, Any]:
    """Load the backend, register adapters (RSS at each step), then time A<->B switches."""
    import mlx.core as mx

    from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend

    if len(adapter_paths) < 2:
        raise ValueError("need at least two adapters")
    versions = [_version(shaped_models.adapter_name(i)) for i in range(len(adapter_paths))]
    sizes = [shaped_models.adapter_nbytes(p) for p in adapter_paths]
    rss_start = settled_rss()

    backend = MlxLLMBackend(str(model_path))
    start = time.perf_counter()
    backend.load()
    mx.eval(backend.model.parameters())
    load_s = time.perf_counter() - start
    rss_base = settled_rss()
    log(f"  base model loaded in {load_s:.2f} s; RSS {rss_base / MB:.0f} MB")

    rss_after: dict[int, int] = {}
    for i, (version, path) in enumerate(zip(versions, adapter_paths, strict=True)):
        backend.register_adapter(version, path)
        if i + 1 in (2, len(versions)):
            rss_after[i + 1] = settled_rss()
    n_all = len(versions)
    # Registering may keep arrays lazy; switching to every adapter once makes them all resident.
    start = time.perf_counter()
    modules = lora_modules(backend.model)
    backend.activate(versions[0])
    mx.eval(lora_arrays(modules))
    first_activation_s = time.perf_counter() - start
    for version in versions[1:]:
        timed_switch(backend, version, modules)
    rss_all_active = settled_rss()
    log(f"  registered {n_all} adapters; RSS {rss_after[n_all] / MB:.0f} MB "
        f"({rss_all_active / MB:.0f} MB after activating each)")

    # Warm up, then alternate A <-> B.
    a, b = versions[0], versions[1]
    for _ in range(5):
        timed_switch(backend, a, modules)
        timed_switch(backend, b, modules)
    times = [timed_switch(backend, a if i % 2 == 0 else b, modules) for i in range(switches)]
    # What the measurement itself costs: the same eval without a switch.
    eval_only = []
    for _ in range(min(switches, 100)):
        t0 = time.perf_counter()
        mx.eval(lora_arrays(modules))
        eval_only.append(time.perf_counter() - t0)
    to_base = [timed_switch(backend, None if i % 2 == 0 else a, modules) for i in range(min(switches, 100))]
    backend.activate(None)
    stats = {k: v * 1000 for k, v in summary(times).items()}
    log(f"  {switches} switches: median {stats['median']:.3f} ms, p95 {stats['p95']:.3f} ms")

    del backend
    rss_end = settled_rss()
    growth_2 = rss_after[2] - rss_base
    growth_all = max(rss_after[n_all], rss_all_active) - rss_base
    return {
        "switch": {
            "n": switches,
            "median_ms": stats["median"], "p95_ms": stats["p95"], "mean_ms": stats["mean"],
            "min_ms": stats["min"], "max_ms": stats["max"],
            "eval_only_median_ms": statistics.median(eval_only) * 1000,
            "adapter_base_alternating_median_ms": statistics.median(to_base) * 1000,
            "first_activation_ms": first_activation_s * 1000,
            "lora_modules": len(modules),
        },
        "memory": {
            "rss_start_bytes": rss_start,
            "rss_base_bytes": rss_base,
            "rss_after_2_bytes": rss_after[2],
            f"rss_after_{n_all}_bytes": rss_after[n_all],
            f"rss_after_{n_all}_all_activated_bytes": rss_all_active,
            "rss_after_release_bytes": rss_end,
            "adapters_registered": n_all,
            "adapter_bytes_each": sizes,
            "adapters_2_bytes": sum(sizes[:2]),
            "adapters_all_bytes": sum(sizes),
            "growth_2_bytes": growth_2,
            "growth_all_bytes": growth_all,
            "base_load_s": load_s,
        },
    }


def measure_reload(model_path: Path, adapter_path: Path, runs: int,
                   log: Callable[[str], None] = print) -> dict[str, Any]:
    """Seconds for ``mlx_lm.load(path, adapter_path=...)`` with every parameter evaluated."""
    import mlx.core as mx
    import mlx_lm

    def once() -> float:
        start = time.perf_counter()
        model, _tokenizer = mlx_lm.load(str(model_path), adapter_path=str(adapter_path))
        mx.eval(model.parameters())
        elapsed = time.perf_counter() - start
        del model, _tokenizer
        gc.collect()
        mx.clear_cache()
        return elapsed

    warmup = once()  # pulls the files into the page cache if they were not
    times = [once() for _ in range(runs)]
    log(f"  {runs} reloads: median {statistics.median(times):.3f} s (warm-up {warmup:.3f} s)")
    return {"runs": runs, "times_s": times, "warmup_s": warmup, **{
        f"{k}_s": v for k, v in summary(times).items()}}


def _decode(model: Any, prompt: list[int], tokens: int) -> tuple[float, list[int]]:
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
    version = _version(shaped_models.adapter_name(0))
    backend.register_adapter(version, adapter_path)
    tokenizer = backend.tokenizer
    prompt = [int(i) for i in tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}], add_generation_prompt=True)]
    results: dict[str, list[float]] = {"base": [], "adapter": []}
    outputs: dict[str, list[int]] = {}
    modes = {"base": None, "adapter": version}
    for mode, active in modes.items():  # warm-up, and the tokens each produces
        backend.activate(active)
        outputs[mode] = _decode(backend.model, prompt, tokens)[1]
    for _ in range(reps):
        for mode, active in modes.items():
            backend.activate(active)
            results[mode].append(_decode(backend.model, prompt, tokens)[0])
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


# ---------------------------------------------------------------------------------------------
# The whole run


def judge(result: dict[str, Any]) -> dict[str, bool]:
    t = result["targets"]
    mem = result["memory"]
    flags = {
        "switch": result["switch"]["median_ms"] <= t["switch_median_ms_max"],
        "reload_ratio": result["reload_over_switch"] >= t["reload_over_switch_min"],
        "memory": mem["growth_all_bytes"] <= (t["memory_growth_max_factor"] * mem["adapters_all_bytes"]
                                              + t["memory_growth_slack_bytes"]),
        "decode": result["decode"]["ratio"] >= t["decode_ratio_min"],
    }
    flags["all"] = all(flags.values())
    return flags


def run(*, switch_shape: str = "qwen2.5-3b-shape", decode_shape: str = "qwen2.5-0.5b-shape",
        quick: bool = False, cache_dir: Path = shaped_models.CACHE_DIR,
        switches: int | None = None, reloads: int | None = None, decode_reps: int | None = None,
        decode_tokens: int | None = None, memory_adapters: int = 8,
        log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build what is missing, measure everything, return the result (not yet written)."""
    plan = dict(QUICK if quick else FULL)
    for key, value in (("switches", switches), ("reloads", reloads), ("decode_reps", decode_reps),
                       ("decode_tokens", decode_tokens)):
        if value is not None:
            plan[key] = value
    began = time.perf_counter()

    log(f"models ({cache_dir}):")
    start = time.perf_counter()
    switch_model = shaped_models.ensure_model(switch_shape, cache_dir=cache_dir)
    switch_adapters = shaped_models.ensure_adapters(switch_shape, memory_adapters, cache_dir=cache_dir)
    decode_model = shaped_models.ensure_model(decode_shape, cache_dir=cache_dir)
    decode_adapters = shaped_models.ensure_adapters(decode_shape, 1, cache_dir=cache_dir)
    prepare_s = time.perf_counter() - start
    log(f"  ready in {prepare_s:.1f} s")

    log(f"switch + memory ({switch_shape}):")
    switch_mem = measure_switch_and_memory(switch_model, switch_adapters, plan["switches"], log)
    log(f"reload ({switch_shape}):")
    reload = measure_reload(switch_model, switch_adapters[0], plan["reloads"], log)
    log(f"decode ({decode_shape}):")
    decode = measure_decode(decode_model, decode_adapters[0], plan["decode_reps"],
                            plan["decode_tokens"], log)

    shape = shaped_models.get_shape(switch_shape)
    result: dict[str, Any] = {
        "benchmark": "adapter_switch",
        "quick": quick,
        "machine": machine_info(),
        "config": {
            "switch_shape": switch_shape, "decode_shape": decode_shape,
            "switch_model_bytes": shaped_models.dir_size(switch_model),
            "quantization": {"group_size": shaped_models.GROUP_SIZE, "bits": shaped_models.BITS},
            "adapter_rank": 8, "adapter_layers": min(8, shape.num_layers),
            "adapter_keys": list(shaped_models.LORA_PROJECTIONS),
            **plan, "memory_adapters": memory_adapters,
        },
        **switch_mem,
        "reload": reload,
        "reload_over_switch": reload["median_s"] * 1000 / switch_mem["switch"]["median_ms"],
        "decode": decode,
        "targets": dict(TARGETS),
        "prepare_s": prepare_s,
    }
    result["pass"] = judge(result)
    result["runtime_s"] = time.perf_counter() - began
    result["memory"]["peak_rss_bytes"] = peak_rss_bytes()
    return result


def write_json(result: dict[str, Any], path: Path) -> Path:
    """Write ``result`` to ``path`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def table(result: dict[str, Any]) -> Any:
    from rich.table import Table

    t, ok = result["targets"], result["pass"]
    sw, mem, dec = result["switch"], result["memory"], result["decode"]
    n_all = mem["adapters_registered"]
    mark = {True: "[green]PASS[/green]", False: "[red]FAIL[/red]"}
    cfg = result["config"]
    out = Table(title=f"Adapter hot-swap ({cfg['switch_shape']}; decode on {cfg['decode_shape']})"
                      + (" [quick]" if result["quick"] else ""))
    out.add_column("measure")
    out.add_column("value", justify="right")
    out.add_column("target", justify="right")
    out.add_column("result")
    out.add_row(f"switch A↔B median (n={sw['n']})", f"{sw['median_ms']:.3f} ms",
                f"≤ {t['switch_median_ms_max']:g} ms", mark[ok["switch"]])
    out.add_row("switch A↔B p95", f"{sw['p95_ms']:.3f} ms", "", "")
    out.add_row("  of which mx.eval of LoRA arrays", f"{sw['eval_only_median_ms']:.3f} ms", "", "")
    out.add_row("switch adapter↔base median", f"{sw['adapter_base_alternating_median_ms']:.3f} ms", "", "")
    out.add_row("first activation", f"{sw['first_activation_ms']:.1f} ms", "", "")
    out.add_row(f"full reload median (n={result['reload']['runs']})",
                f"{result['reload']['median_s']:.3f} s", "", "")
    out.add_row("reload / switch", f"{result['reload_over_switch']:,.0f}×",
                f"≥ {t['reload_over_switch_min']:g}×", mark[ok["reload_ratio"]])
    out.add_row("RSS base model", f"{mem['rss_base_bytes'] / MB:,.0f} MB", "", "")
    out.add_row("RSS + 2 adapters", f"{mem['rss_after_2_bytes'] / MB:,.0f} MB "
                f"(+{mem['growth_2_bytes'] / MB:.1f})", f"adapters {mem['adapters_2_bytes'] / MB:.1f} MB", "")
    out.add_row(f"RSS + {n_all} adapters", f"{mem[f'rss_after_{n_all}_bytes'] / MB:,.0f} MB", "", "")
    out.add_row(f"RSS + {n_all} adapters, each activated",
                f"{mem[f'rss_after_{n_all}_all_activated_bytes'] / MB:,.0f} MB", "", "")
    limit = t["memory_growth_max_factor"] * mem["adapters_all_bytes"] + t["memory_growth_slack_bytes"]
    out.add_row(f"growth with {n_all} adapters", f"{mem['growth_all_bytes'] / MB:.1f} MB",
                f"≤ {limit / MB:.1f} MB ({mem['adapters_all_bytes'] / MB:.1f} MB of adapters)",
                mark[ok["memory"]])
    out.add_row("decode base (median)", f"{dec['base_tps_median']:.2f} tok/s", "", "")
    out.add_row("decode with adapter (median)", f"{dec['adapter_tps_median']:.2f} tok/s", "", "")
    out.add_row("adapter / base", f"{dec['ratio']:.3f}", f"≥ {t['decode_ratio_min']:g}", mark[ok["decode"]])
    out.add_row("adapter changes greedy output", str(dec["adapter_changes_output"]), "", "")
    out.add_row("peak RSS", f"{mem['peak_rss_bytes'] / MB:,.0f} MB", "", "")
    out.add_row("runtime", f"{result['runtime_s']:.1f} s (models {result['prepare_s']:.1f} s)", "", "")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke run")
    parser.add_argument("--switch-shape", default="qwen2.5-3b-shape", choices=list(shaped_models.SHAPES))
    parser.add_argument("--decode-shape", default="qwen2.5-0.5b-shape", choices=list(shaped_models.SHAPES))
    parser.add_argument("--cache", type=Path, default=shaped_models.CACHE_DIR)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--switches", type=int)
    parser.add_argument("--reloads", type=int)
    parser.add_argument("--decode-reps", type=int)
    parser.add_argument("--decode-tokens", type=int)
    args = parser.parse_args(argv)

    from rich.console import Console

    # Piped output gets rich's default 80 columns, too narrow for the table.
    console = Console(width=None if sys.stdout.isatty() else 120)
    result = run(switch_shape=args.switch_shape, decode_shape=args.decode_shape, quick=args.quick,
                 cache_dir=args.cache, switches=args.switches, reloads=args.reloads,
                 decode_reps=args.decode_reps, decode_tokens=args.decode_tokens,
                 log=lambda line: console.print(line, highlight=False, markup=False))
    path = write_json(result, args.out)
    console.print(table(result))
    console.print(f"results: {path}")
    return 0 if result["pass"]["all"] else 1


if __name__ == "__main__":
    sys.exit(main())
