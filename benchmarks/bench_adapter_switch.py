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

Results go to a table on stdout and to ``benchmarks/results/adapter_switch.json``. The
measurements are in ``switch_measures.py`` and ``decode_measure.py``, the targets and the table
in ``bench_report.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# benchmarks/ is not a package: its modules import each other by name, also when this file is
# loaded by path (importlib, as the tests do) rather than run as a script.
_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import model_shapes  # noqa: E402
import shaped_adapters  # noqa: E402
import shaped_models  # noqa: E402
from bench_report import TARGETS, judge, table  # noqa: E402
from bench_support import (  # noqa: E402
    Stopwatch,
    console,
    dir_size,
    finish,
    machine_info,
    peak_rss_bytes,
)
from decode_measure import measure_decode  # noqa: E402
from switch_measures import measure_reload, measure_switch_and_memory  # noqa: E402

RESULTS = _HERE / "results" / "adapter_switch.json"

FULL = {"switches": 400, "reloads": 5, "decode_reps": 5, "decode_tokens": 32}
QUICK = {"switches": 50, "reloads": 2, "decode_reps": 2, "decode_tokens": 16}


def run(*, switch_shape: str = "qwen2.5-3b-shape", decode_shape: str = "qwen2.5-0.5b-shape",
        quick: bool = False, cache_dir: Path = model_shapes.CACHE_DIR,
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
    with Stopwatch() as prepare:
        switch_model = shaped_models.ensure_model(switch_shape, cache_dir=cache_dir)
        switch_adapters = shaped_adapters.ensure_adapters(switch_shape, memory_adapters, cache_dir=cache_dir)
        decode_model = shaped_models.ensure_model(decode_shape, cache_dir=cache_dir)
        decode_adapters = shaped_adapters.ensure_adapters(decode_shape, 1, cache_dir=cache_dir)
    log(f"  ready in {prepare.seconds:.1f} s")

    log(f"switch + memory ({switch_shape}):")
    switch_mem = measure_switch_and_memory(switch_model, switch_adapters, plan["switches"], log)
    log(f"reload ({switch_shape}):")
    reload = measure_reload(switch_model, switch_adapters[0], plan["reloads"], log)
    log(f"decode ({decode_shape}):")
    decode = measure_decode(decode_model, decode_adapters[0], plan["decode_reps"],
                            plan["decode_tokens"], log)

    shape = model_shapes.get_shape(switch_shape)
    result: dict[str, Any] = {
        "benchmark": "adapter_switch",
        "quick": quick,
        "machine": machine_info(),
        "config": {
            "switch_shape": switch_shape, "decode_shape": decode_shape,
            "switch_model_bytes": dir_size(switch_model),
            "quantization": {"group_size": model_shapes.GROUP_SIZE, "bits": model_shapes.BITS},
            "adapter_rank": shaped_adapters.ADAPTER_RANK,
            "adapter_layers": min(shaped_adapters.ADAPTER_LAYERS, shape.num_layers),
            "adapter_keys": list(model_shapes.LORA_PROJECTIONS),
            **plan, "memory_adapters": memory_adapters,
        },
        **switch_mem,
        "reload": reload,
        "reload_over_switch": reload["median_s"] * 1000 / switch_mem["switch"]["median_ms"],
        "decode": decode,
        "targets": dict(TARGETS),
        "prepare_s": prepare.seconds,
    }
    result["pass"] = judge(result)
    result["runtime_s"] = time.perf_counter() - began
    result["memory"]["peak_rss_bytes"] = peak_rss_bytes()
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write the JSON, print the table; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke run")
    parser.add_argument("--switch-shape", default="qwen2.5-3b-shape", choices=list(model_shapes.SHAPES))
    parser.add_argument("--decode-shape", default="qwen2.5-0.5b-shape", choices=list(model_shapes.SHAPES))
    parser.add_argument("--cache", type=Path, default=model_shapes.CACHE_DIR)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--switches", type=int)
    parser.add_argument("--reloads", type=int)
    parser.add_argument("--decode-reps", type=int)
    parser.add_argument("--decode-tokens", type=int)
    args = parser.parse_args(argv)

    out = console()
    result = run(switch_shape=args.switch_shape, decode_shape=args.decode_shape, quick=args.quick,
                 cache_dir=args.cache, switches=args.switches, reloads=args.reloads,
                 decode_reps=args.decode_reps, decode_tokens=args.decode_tokens,
                 log=lambda line: out.print(line, highlight=False, markup=False))
    return finish(out, result, table(result), args.out)


if __name__ == "__main__":
    sys.exit(main())
