"""BLAS benchmark (issue 9 item 3): MLX CPU fp32 matmuls with the wheel's reference BLAS vs OpenBLAS.

    python benchmarks/bench_blas.py [--repeats 5] [--out FILE]

Two shapes from Gemma 3 270M: a 512-token prompt through a 640 → 32768 projection
(512×640 @ 640×32768) and one decode step through the 262,144-token output layer
(1×640 @ 640×262144, once as written and once as the model stores it: a 262144×640 matrix used
transposed, like nn.Linear and the tied embedding). Each BLAS
runs in its own interpreter, because the BLAS is chosen once, before ``mlx.core`` is imported
(``EVOTR_BLAS=off`` keeps the reference one). Prints medians and the ratio and writes
``benchmarks/results/blas.json``; the target is OpenBLAS ≥ 10× faster on the prompt matmul.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import console, finish, machine_info, summary  # noqa: E402

RESULTS = _HERE / "results" / "blas.json"
SHAPES = {  # name: (rows of x, inner, columns, weight stored (columns, inner) and used transposed)
    "prompt 512×640 @ 640×32768": (512, 640, 32768, False),
    "decode 1×640 @ 640×262144": (1, 640, 262144, False),
    "decode 1×640 @ (262144×640)ᵀ": (1, 640, 262144, True),  # nn.Linear / tied output layer layout
}
TARGETS = {"prompt_speedup_min": 10.0}


def worker(repeats: int) -> dict[str, Any]:
    """In this interpreter: choose the BLAS, then time each shape (after a small warm-up)."""
    from evotr.infrastructure.mlx.blas import mlx_binding, prepare_blas

    status = prepare_blas()
    import mlx.core as mx

    mx.set_default_device(mx.cpu)
    out: dict[str, Any] = {"blas": status.describe(), "name": status.name, "bound": mlx_binding(),
                           "optimised": status.optimised}
    for name, (rows, inner, cols, transposed) in SHAPES.items():
        x = mx.random.normal((rows, inner), key=mx.random.key(0))
        w = mx.random.normal((cols, inner) if transposed else (inner, cols), key=mx.random.key(1))
        mx.eval(x, w)
        w_used = w.T if transposed else w
        mx.eval(x[:1] @ w_used)  # warm-up: code paths and the BLAS thread pool, not the full cost
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            mx.eval(x @ w_used)
            seconds.append(time.perf_counter() - started)
        out[name] = summary(seconds) | {"runs": seconds, "gflop": 2 * rows * inner * cols / 1e9}
        del x, w, w_used
    return out


def _run_worker(repeats: int, blas: str | None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("EVOTR_BLAS", "LD_PRELOAD")}
    if blas is not None:
        env["EVOTR_BLAS"] = blas
    done = subprocess.run([sys.executable, __file__, "--worker", "--repeats", str(repeats)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(repeats: int = 5) -> dict[str, Any]:
    """Both BLAS in fresh interpreters; the medians and their ratio for each shape."""
    reference, openblas = _run_worker(repeats, "off"), _run_worker(repeats, None)
    result: dict[str, Any] = {"machine": machine_info(), "targets": TARGETS, "repeats": repeats,
                              "reference": reference, "openblas": openblas, "speedup": {}}
    for name in SHAPES:
        result["speedup"][name] = reference[name]["median"] / openblas[name]["median"]
    prompt = next(iter(SHAPES))
    result["pass"] = {"openblas_found": bool(openblas["optimised"]),
                      "prompt_speedup": result["speedup"][prompt] >= TARGETS["prompt_speedup_min"]}
    result["pass"]["all"] = all(result["pass"].values())
    return result


def table(result: dict[str, Any]) -> Any:
    """A rich table: each shape, both medians, the ratio."""
    from rich.table import Table

    out = Table(title=f"MLX CPU fp32 matmul: reference BLAS vs OpenBLAS (median of {result['repeats']})")
    for column in ("matmul", "GFLOP", "reference", "OpenBLAS", "speed-up"):
        out.add_column(column)
    for name in SHAPES:
        ref, fast = result["reference"][name], result["openblas"][name]
        out.add_row(name, f"{ref['gflop']:.1f}", f"{ref['median'] * 1000:.1f} ms",
                    f"{fast['median'] * 1000:.1f} ms", f"{result['speedup'][name]:.1f}×")
    out.caption = f"{result['reference']['name']} vs {result['openblas']['name']}; each in its own process"
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write the JSON, print the table; exit 1 if OpenBLAS is missing or slow."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.repeats)))
        return 0
    result = run(args.repeats)
    return finish(console(), result, table(result), args.out)


if __name__ == "__main__":
    sys.exit(main())
