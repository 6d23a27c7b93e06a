"""Adapter switch time, resident memory per registered adapter, and full-reload time.

The switch is ``MlxLLMBackend.activate`` timed together with an ``mx.eval`` of the LoRA arrays
the model then holds: MLX is lazy, and a switch that only records work would look free.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench_support import MB, Memory, Stopwatch, memory_now, release_garbage, settled_rss, summary
from shaped_adapters import adapter_nbytes, adapter_version

# Most samples the side measurements (eval alone, adapter <-> base) take; they are context.
SIDE_SAMPLES = 100
WARMUP_PAIRS = 5


def lora_modules(model: Any) -> list[Any]:
    """The modules that hold LoRA arrays (a parameter named lora_*), resolved by path.

    The backend builds each adapter's own wrappers at registration and puts them into the model
    when that adapter is activated (the original modules for the base model), so call this
    with the adapter of interest active.
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


def timed_switch(backend: Any, version: Any, modules: Mapping[Any, Sequence[Any]]) -> float:
    """Seconds for ``backend.activate(version)`` plus an ``mx.eval`` of the LoRA arrays the model
    then holds (``modules[version]``: that adapter's LoRA modules; none for the base model)."""
    import mlx.core as mx

    start = time.perf_counter()
    backend.activate(version)
    mx.eval(lora_arrays(modules.get(version, ())))
    return time.perf_counter() - start


def _time_switches(backend: Any, a: Any, b: Any, modules: Mapping[Any, Sequence[Any]],
                   switches: int) -> dict[str, Any]:
    """Alternate A <-> B ``switches`` times after a warm-up; also what the eval alone costs."""
    import mlx.core as mx

    for _ in range(WARMUP_PAIRS):
        timed_switch(backend, a, modules)
        timed_switch(backend, b, modules)
    times = [timed_switch(backend, a if i % 2 == 0 else b, modules) for i in range(switches)]
    # What the measurement itself costs: the same eval without a switch.
    eval_only = []
    for _ in range(min(switches, SIDE_SAMPLES)):
        t0 = time.perf_counter()
        mx.eval(lora_arrays(modules[a]))
        eval_only.append(time.perf_counter() - t0)
    to_base = [timed_switch(backend, None if i % 2 == 0 else a, modules)
               for i in range(min(switches, SIDE_SAMPLES))]
    backend.activate(None)
    stats = {k: v * 1000 for k, v in summary(times).items()}
    return {
        "n": switches,
        "median_ms": stats["median"], "p95_ms": stats["p95"], "mean_ms": stats["mean"],
        "min_ms": stats["min"], "max_ms": stats["max"],
        "eval_only_median_ms": statistics.median(eval_only) * 1000,
        "adapter_base_alternating_median_ms": statistics.median(to_base) * 1000,
    }


def _memory_report(start: Memory, base: Memory, after: dict[int, Memory], all_active: Memory,
                   rss_end: int, sizes: Sequence[int]) -> dict[str, Any]:
    """The memory section of the result; ``after[n]`` is memory with ``n`` adapters registered."""
    n_all = len(sizes)
    report: dict[str, Any] = {
        "rss_after_release_bytes": rss_end,
        "adapters_registered": n_all,
        "adapter_bytes_each": list(sizes),
        "adapters_2_bytes": sum(sizes[:2]),
        "adapters_all_bytes": sum(sizes),
    }
    # RSS and MLX's own count are reported side by side, under the same names.
    for prefix, field in (("rss", "rss"), ("mlx_active", "active")):
        view = {name: getattr(memory, field) for name, memory in (
            ("start", start), ("base", base), ("after_2", after[2]), (f"after_{n_all}", after[n_all]),
            (f"after_{n_all}_all_activated", all_active))}
        for name, value in view.items():
            report[f"{prefix}_{name}_bytes"] = value
        report[f"{prefix}_growth_2_bytes"] = view["after_2"] - view["base"]
        report[f"{prefix}_growth_all_bytes"] = (
            max(view[f"after_{n_all}"], view[f"after_{n_all}_all_activated"]) - view["base"])
    # What the target is judged on: the larger of the two views of growth.
    for growth in ("growth_2", "growth_all"):
        report[f"{growth}_bytes"] = max(report[f"rss_{growth}_bytes"], report[f"mlx_active_{growth}_bytes"])
    return report


def measure_switch_and_memory(model_path: Path, adapter_paths: Sequence[Path], switches: int,
                              log: Callable[[str], None] = print) -> dict[str, Any]:
    """Load the backend, register adapters (memory at each step), then time A<->B switches."""
    import mlx.core as mx

    from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend

    if len(adapter_paths) < 2:
        raise ValueError("need at least two adapters")
    versions = [adapter_version(i) for i in range(len(adapter_paths))]
    sizes = [adapter_nbytes(p) for p in adapter_paths]
    n_all = len(versions)
    start = memory_now()

    backend = MlxLLMBackend(str(model_path))
    with Stopwatch() as load:
        backend.load()
        mx.eval(backend.model.parameters())
    base = memory_now()
    log(f"  base model loaded in {load.seconds:.2f} s; RSS {base.rss / MB:.0f} MB")

    after: dict[int, Memory] = {}
    for i, (version, path) in enumerate(zip(versions, adapter_paths, strict=True)):
        backend.register_adapter(version, path)
        if i + 1 in (2, n_all):
            after[i + 1] = memory_now()
    # Registering may keep arrays lazy; switching to every adapter once makes them all resident.
    modules: dict[Any, list[Any]] = {}
    with Stopwatch() as first:
        backend.activate(versions[0])
        modules[versions[0]] = lora_modules(backend.model)
        mx.eval(lora_arrays(modules[versions[0]]))
    for version in versions[1:]:
        backend.activate(version)
        modules[version] = lora_modules(backend.model)
        timed_switch(backend, version, modules)
    all_active = memory_now()
    log(f"  registered {n_all} adapters; RSS {after[n_all].rss / MB:.0f} MB "
        f"({all_active.rss / MB:.0f} MB after activating each); MLX arrays "
        f"{base.active / MB:.0f} -> {all_active.active / MB:.0f} MB")

    switch = _time_switches(backend, versions[0], versions[1], modules, switches)
    switch.update(first_activation_ms=first.seconds * 1000, lora_modules=len(modules[versions[0]]))
    log(f"  {switches} switches: median {switch['median_ms']:.3f} ms, p95 {switch['p95_ms']:.3f} ms")

    del backend
    memory = _memory_report(start, base, after, all_active, settled_rss(), sizes)
    memory["base_load_s"] = load.seconds
    return {"switch": switch, "memory": memory}


def measure_reload(model_path: Path, adapter_path: Path, runs: int,
                   log: Callable[[str], None] = print) -> dict[str, Any]:
    """Seconds for ``mlx_lm.load(path, adapter_path=...)`` with every parameter evaluated."""
    import mlx.core as mx
    import mlx_lm

    def once() -> float:
        with Stopwatch() as watch:
            model, _tokenizer = mlx_lm.load(str(model_path), adapter_path=str(adapter_path))
            mx.eval(model.parameters())
        del model, _tokenizer
        release_garbage()
        return watch.seconds

    warmup = once()  # pulls the files into the page cache if they were not
    times = [once() for _ in range(runs)]
    log(f"  {runs} reloads: median {statistics.median(times):.3f} s (warm-up {warmup:.3f} s)")
    return {"runs": runs, "times_s": times, "warmup_s": warmup, **{
        f"{k}_s": v for k, v in summary(times).items()}}
