"""Gemma 3 270M on MLX's CPU (issue 9 item 5): formats × BLAS, and ideas for a faster output layer.

    python benchmarks/bench_model.py [--quick] [--repeats 3] [--tokens 32] [--models DIR] [--out FILE]

Imports the ``gemma`` extra's GGUF once per format (fp32, bf16, 8-bit, 4-bit; ~25 s each) into
``benchmarks/.cache/models/`` and loads each with stock ``mlx_lm.load``, in its own interpreter
for each BLAS (the BLAS is chosen before ``mlx.core`` is imported; ``EVOTR_BLAS=off`` keeps the
wheel's reference BLAS). The decode ideas of ``model_variants`` run on fp32 with OpenBLAS.
Measured per run: load time, prompt tokens/s (a 256-token prompt), decode tokens/s (greedy, median
of the repeats), peak RSS, perplexity of the fixed texts in ``benchmarks/data/`` and whether the
greedy tokens equal fp32's. Prints a table, writes ``benchmarks/results/model.json``; the target
is ≥ 15 decode tokens/s for the demo's choice: fp32 with OpenBLAS, one-token steps in NumPy with
products as ``cblas_sgemv`` (``fp32+rows``), which is what evotr's backend serves. ``--only`` limits the runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import MB, console, finish, machine_info, peak_rss_bytes  # noqa: E402

RESULTS = _HERE / "results" / "model.json"
MODELS = _HERE / ".cache" / "models"
TEXTS = {name: _HERE / "data" / f"{name}.txt" for name in ("en", "tr", "python")}
MODEL = "gemma-3-270m"
FORMATS = {"fp32": ("float32", "none"), "bf16": ("bfloat16", "none"), "8-bit": ("float32", "8"),
           "4-bit": ("float32", "4")}
PROMPT_TOKENS = 256
PPL_TOKENS = 512  # Gemma 3's sliding window: one forward pass sees every token in full
TARGETS = {"decode_tokens_per_s_min": 15.0}
BASE = "fp32/openblas"  # the reference for greedy agreement
DEMO = "fp32+rows/openblas"  # what evotr serves: fp32, OpenBLAS, one-token steps in NumPy + sgemv


def _runs() -> list[tuple[str, str, str | None]]:
    """(format, blas, variant): every format with both BLAS, then each idea on fp32 + OpenBLAS."""
    from model_variants import VARIANTS

    runs: list[tuple[str, str, str | None]] = [(f, b, None) for f in FORMATS
                                               for b in ("reference", "openblas")]
    return runs + [("fp32", "openblas", v) for v in VARIANTS]


def _key(fmt: str, blas: str, variant: str | None) -> str:
    return f"{fmt}{'+' + variant if variant else ''}/{blas}"


def ensure_models(models: Path) -> dict[str, Path]:
    """The imported folder of each format, converting the ones that are missing."""
    from evotr.infrastructure.models.pull import pull_model

    folders = {}
    for fmt, (dtype, quantize) in FORMATS.items():
        result = pull_model(MODEL, models / fmt, dtype=dtype, quantize=quantize)
        if result.report is not None:
            print(f"imported {fmt} in {result.report.seconds:.0f} s", file=sys.stderr)
        folders[fmt] = result.out_dir
    return folders


def perplexity(model: Any, ids: list[int]) -> float:
    """Per-token perplexity of ``ids`` (BOS first) in one forward pass."""
    import mlx.core as mx
    import mlx.nn as nn

    tokens = mx.array([ids])
    logits = model(tokens[:, :-1]).astype(mx.float32)
    return math.exp(float(nn.losses.cross_entropy(logits, tokens[:, 1:]).mean().item()))


def worker(folder: Path, variant: str | None, repeats: int, max_tokens: int) -> dict[str, Any]:
    """In this interpreter: choose the BLAS, load, apply ``variant``, measure."""
    from evotr.infrastructure.mlx.blas import prepare_blas

    status = prepare_blas()
    import mlx.core as mx
    import mlx_lm
    from mlx_lm.sample_utils import make_sampler

    started = time.perf_counter()
    model, tokenizer = mlx_lm.load(str(folder))[:2]
    load_s = time.perf_counter() - started
    facts: dict[str, Any] = {}
    target = model
    if variant is not None:
        from model_variants import apply_variant, generation_model

        facts = apply_variant(model, tokenizer, variant)
        target = generation_model(model, variant)
    out: dict[str, Any] = {"blas": status.name, "load_s": load_s, "facts": facts, "perplexity": {}}
    for name, path in TEXTS.items():
        out["perplexity"][name] = perplexity(model, tokenizer.encode(path.read_text("utf-8"))[:PPL_TOKENS])
    prompt = tokenizer.encode(TEXTS["en"].read_text("utf-8"))[:PROMPT_TOKENS]
    prompt_tps, decode_tps = [], []
    for _ in range(repeats):
        tokens: list[int] = []
        for response in mlx_lm.stream_generate(target, tokenizer, prompt, max_tokens=max_tokens,
                                               sampler=make_sampler(temp=0.0)):
            tokens.append(int(response.token))
        prompt_tps.append(response.prompt_tps)
        decode_tps.append(response.generation_tps)
    out.update(prompt_tps=statistics.median(prompt_tps), decode_tps=statistics.median(decode_tps),
               prompt_runs=prompt_tps, decode_runs=decode_tps, greedy_tokens=tokens,
               peak_rss_mb=peak_rss_bytes() / MB, mlx_peak_mb=mx.get_peak_memory() / MB)
    return out


def _run_worker(folder: Path, blas: str, variant: str | None, repeats: int, tokens: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("EVOTR_BLAS", "LD_PRELOAD")}
    if blas == "reference":
        env["EVOTR_BLAS"] = "off"
    command = [sys.executable, __file__, "--worker", str(folder), "--repeats", str(repeats),
               "--tokens", str(tokens)] + (["--variant", variant] if variant else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {folder} {blas} {variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(models: Path, repeats: int, tokens: int, only: set[str] | None = None) -> dict[str, Any]:
    """Every run (or those in ``only``, plus the fp32 base) in a fresh interpreter."""
    folders = ensure_models(models)
    result: dict[str, Any] = {"machine": machine_info(), "targets": TARGETS, "repeats": repeats,
                              "decode_tokens": tokens, "prompt_tokens": PROMPT_TOKENS, "runs": {}}
    for fmt, blas, variant in _runs():
        key = _key(fmt, blas, variant)
        if only is not None and key not in only | {BASE, DEMO}:
            continue
        print(f"measuring {key} …", file=sys.stderr, flush=True)
        measured = _run_worker(folders[fmt], blas, variant, repeats, tokens)
        measured.update(format=fmt, blas_kind=blas, variant=variant)
        result["runs"][key] = measured
    return summarise(result)


def _weights(fmt: str, variant: str | None) -> str:
    """What the run computes with, compared to fp32: fp32, lossy (quantized, bf16) or APPROX."""
    from model_variants import APPROXIMATE, EXACT

    if variant in APPROXIMATE:
        return "APPROX"
    return "fp32" if fmt == "fp32" and (variant is None or variant in EXACT) else "lossy"


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Label each run, count greedy tokens equal to fp32's, and check the target."""
    for measured in result["runs"].values():
        measured["weights"] = _weights(measured["format"], measured["variant"])
    want = result["runs"][BASE]["greedy_tokens"]
    for measured in result["runs"].values():
        got = measured["greedy_tokens"]
        measured["greedy_same_as_fp32"] = sum(a == b for a, b in zip(got, want, strict=False))
    exact_fast = max(m["decode_tps"] for m in result["runs"].values() if m["weights"] == "fp32")
    result["best_fp32_decode_tps"] = exact_fast
    result["pass"] = {"demo_decode": result["runs"][DEMO]["decode_tps"] >= TARGETS["decode_tokens_per_s_min"],
                      "best_exact_fp32_decode": exact_fast >= TARGETS["decode_tokens_per_s_min"]}
    result["pass"]["all"] = result["pass"]["best_exact_fp32_decode"]
    return result


def table(result: dict[str, Any]) -> Any:
    """A rich table: one row per run."""
    from rich.table import Table

    out = Table(title=f"Gemma 3 270M on MLX CPU: {result['prompt_tokens']}-token prompt, "
                      f"{result['decode_tokens']} greedy tokens, median of {result['repeats']}")
    for column in ("model", "BLAS", "vs fp32", "load", "prompt tok/s", "decode tok/s", "peak RSS",
                   "ppl EN", "ppl TR", "ppl Py", "greedy = fp32"):
        out.add_column(column, justify="left" if column in ("model", "BLAS") else "right")
    for key, m in result["runs"].items():
        ppl = m["perplexity"]
        out.add_row(key.split("/")[0], m["blas_kind"], m["weights"],
                    f"{m['load_s']:.1f} s", f"{m['prompt_tps']:.0f}", f"{m['decode_tps']:.1f}",
                    f"{m['peak_rss_mb']:,.0f} MB", f"{ppl['en']:.2f}", f"{ppl['tr']:.2f}",
                    f"{ppl['python']:.2f}", f"{m['greedy_same_as_fp32']}/{len(m['greedy_tokens'])}")
    out.caption = (f"target ≥ {TARGETS['decode_tokens_per_s_min']:.0f} decode tok/s; "
                   "stock mlx_lm.load (evotr's backend casts bf16 to fp32 on the CPU)")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write the JSON, print the table; exit 1 if no exact fp32 run meets the target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat of 16 tokens")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--models", type=Path, default=MODELS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--only", help="comma-separated run keys, e.g. "
                        f"'fp32+gemv-all+latin-vocab/openblas'; {BASE} and {DEMO} always run")
    args = parser.parse_args(argv)
    repeats, tokens = (1, 16) if args.quick else (args.repeats, args.tokens)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.variant, repeats, tokens)))
        return 0
    only = {key.strip() for key in args.only.split(",")} if args.only else None
    result = run(args.models, repeats, tokens, only)
    return finish(console(), result, table(result), args.out)


if __name__ == "__main__":
    sys.exit(main())
