"""Decode speed with LoRA off and on, against the plain model (issue 14).

    python benchmarks/bench_decode.py [--shapes 0.5b,3b] [--precisions 4bit,bf16] [--variants]
                                      [--reps 5] [--tokens N] [--out PATH] [--note TEXT]

For each shape (Qwen2.5 0.5B / 3B, random weights, ``shaped_models``) and precision (4-bit as
mlx-community converts it, or bf16) it decodes greedily, ``--reps`` times interleaved, with
three models: ``plain`` (``mlx_lm.load``, no LoRA layers), evotr's backend with adapters
registered and ``none`` active, and evotr with an ``adapter`` active (rank 8 on the last 8
blocks × 7 projections, ``shaped_adapters``); see ``decode_compare``. ``--variants`` adds other
ways to compute the adapter (``lora_variants``). On the CPU the 3B shape decodes at about half a
token a second, so there the default is the 0.5B shape alone (the table says so).

Table on stdout; JSON (written after every model, so a cut-short run keeps what it measured)
to ``benchmarks/results/decode_<machine>.json``. Needs only mlx, mlx-lm, numpy, attrs, rich and
the project on PYTHONPATH (the GPU machine has no evotr install).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import decode_compare  # noqa: E402
import lora_variants  # noqa: E402
import model_shapes  # noqa: E402
import shaped_adapters  # noqa: E402
import shaped_models  # noqa: E402
from bench_support import MB, machine_info, write_json  # noqa: E402

SHAPES = {"0.5b": "qwen2.5-0.5b-shape", "3b": "qwen2.5-3b-shape", "tiny": "tiny"}
TARGETS: dict[str, float] = {
    "none_ratio_min": 0.98,
    "adapter_ratio_min_gpu": 0.85,
    "adapter_ratio_min_cpu": 0.90,
    "switch_median_ms_max": 1.0,
    # |adapter - stock| / max |stock logit|: fp32 sums in another order; bf16 rounds the LoRA
    # term in bf16 where stock mlx-lm keeps its float32 arrays.
    "adapter_rel_diff_max_fp32": 1e-4,
    "adapter_rel_diff_max_half": 5e-2,
}
# Issue 14 sets the GPU adapter target for the 3B shape only; the 0.5B rows are measured, not judged.
GPU_ADAPTER_TARGET_SHAPES = ("qwen2.5-3b-shape",)
CPU_NOT_RUN = "3B shape not run on this CPU (it decodes at ~0.5 tok/s); --shapes 0.5b,3b runs it"


def machine_tag(info: dict[str, Any]) -> str:
    """``nvidia-h200``, ``cpu2core``...: the machine in a file name."""
    if "gpu" in info["device"]:
        name = str(info.get("device_name") or "gpu")
        return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"cpu{info.get('cpu_count')}core"


def adapter_target(run: dict[str, Any], gpu: bool) -> float | None:
    """The adapter's ratio target for this run: 0.9 on the CPU, 0.85 for the 3B shape on a GPU, else None."""
    if not gpu:
        return TARGETS["adapter_ratio_min_cpu"]
    return TARGETS["adapter_ratio_min_gpu"] if run["shape"] in GPU_ADAPTER_TARGET_SHAPES else None


def judge(run: dict[str, Any], gpu: bool) -> dict[str, bool | None]:
    """Pass/fail of one model's run against ``TARGETS`` (ratios of the steady rates).

    ``adapter_ratio`` is None where no target applies (the 0.5B shape on a GPU); ``all`` is
    whether every target that applies is met.
    """
    t, modes, checks = TARGETS, run["modes"], run["checks"]
    half = run["compute_dtype"] != "float32"  # 4-bit models compute in their scales' dtype
    target = adapter_target(run, gpu)
    flags: dict[str, bool | None] = {
        "none_ratio": modes["none"]["ratio"] >= t["none_ratio_min"],
        "adapter_ratio": None if target is None else modes["adapter"]["ratio"] >= target,
        "switch": run["switch"]["none_adapter"]["median_ms"] <= t["switch_median_ms_max"],
        "none_bit_identical": (bool(checks["none_bit_identical_to_plain"])
                               and run["tokens_equal"]["none_vs_plain"]),
        "adapter_equals_stock": checks["adapter_vs_stock_rel"] <= t[
            "adapter_rel_diff_max_half" if half else "adapter_rel_diff_max_fp32"],
    }
    flags["all"] = all(flag for flag in flags.values() if flag is not None)
    return flags


def _label(run: dict[str, Any], gpu: bool) -> str:
    precision = run["precision"] if gpu or run["precision"] == "4bit" else "bf16*"
    return f"{run['shape'].replace('qwen2.5-', '').replace('-shape', '')} {precision}"


def table(result: dict[str, Any]) -> Any:
    """The main table: tok/s and ratios of the three models, switch, memory, checks."""
    from rich.table import Table

    gpu = result["gpu"]
    title = (f"Decode tok/s (steady: 1 / median token gap), median of {result['config']['reps']} "
             f"interleaved reps of {result['config']['tokens']} tokens ({result['machine']['tag']})")
    notes = [*result["not_run"], "plain ±: half the max-min spread", "mean ×: ratios of the mean "
             "rates (tokens over time) of none / adapter", "MB: MLX's own bytes (device"
             " memory on a GPU): model / adapters registered / decode peak over resident"]
    if not gpu:
        notes.append("bf16*: computed in float32 on the CPU, as evotr does")
    out = Table(title=title, caption="; ".join(notes))
    for name in ("model", "plain", "none", "×", "adapter", "×", "mean × n/a", "switch ms",
                 "MB mod/+ad/dec", "RSS MB", "none=plain", "vs stock", ""):
        out.add_column(name, justify="left" if name == "model" else "right")
    for run in result["runs"]:
        modes, mem, checks = run["modes"], run["memory"], run["checks"]
        plain = modes["plain"]
        out.add_row(
            _label(run, gpu), f"{plain['median']:.1f} ±{50 * plain['spread']:.0f}%",
            f"{modes['none']['median']:.1f}", f"{modes['none']['ratio']:.3f}",
            f"{modes['adapter']['median']:.1f}", f"{modes['adapter']['ratio']:.3f}",
            f"{modes['none']['mean_ratio']:.2f}/{modes['adapter']['mean_ratio']:.2f}",
            f"{run['switch']['none_adapter']['median_ms']:.4f}",
            f"{mem['plain_model_bytes'] / MB:.0f}/{mem['adapters_active_bytes'] / MB:.1f}/"
            f"{modes['adapter']['decode_peak_bytes'] / MB:.0f}",
            f"{mem['rss_bytes'] / MB:.0f}",
            "bitwise" if checks["none_bit_identical_to_plain"] else "DIFFERS",
            f"{checks['adapter_vs_stock_rel']:.1e}", verdict(run))
    return out


def verdict(run: dict[str, Any]) -> str:
    """The row's verdict: PASS or FAIL over the targets that apply; says where none applies."""
    flags = run["pass"]
    word = "[green]PASS[/green]" if flags["all"] else "[red]FAIL[/red]"
    return word + (" (adapter ×: n/a, no target)" if flags.get("adapter_ratio", False) is None else "")


def variants_table(result: dict[str, Any]) -> Any:
    """Other ways to compute the adapter: tok/s and ratio against the same plain runs."""
    from rich.table import Table

    out = Table(title="LoRA variants in the plain model (ratio to plain)")
    for name in ("model", "variant", "tok/s", "×plain", "build ms", "note"):
        out.add_column(name, justify="left" if name in ("model", "variant", "note") else "right")
    for run in result["runs"]:
        for name in ("adapter", *result["config"]["variants"]):
            row = run["modes"].get(name)
            if row is None:
                continue
            label = "evotr (shipped)" if name == "adapter" else name
            if "median" not in row:
                out.add_row(_label(run, result["gpu"]), label, "", "", "", row.get("skipped", ""))
                continue
            note = (f"+{row['merged_weight_bytes'] / MB:.0f} MB weights per adapter"
                    if "merged_weight_bytes" in row else "")
            out.add_row(_label(run, result["gpu"]), label, f"{row['median']:.1f}", f"{row['ratio']:.3f}",
                        f"{row['build_ms']:.0f}" if "build_ms" in row else "", note)
    return out


def _variants(text: str) -> list[str]:
    names = list(lora_variants.NAMES) if text == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if not lora_variants.known(n)]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {', '.join(lora_variants.NAMES)}")
    return names


def main(argv: list[str] | None = None) -> int:
    """Run, write the JSON (after each model), print the tables; exit 1 if a target is missed."""
    import mlx.core as mx

    gpu = mx.default_device().type == mx.DeviceType.gpu
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="0.5b,3b" if gpu else "0.5b",
                        help="comma-separated: 0.5b, 3b, tiny (default: 0.5b on the CPU, both on a GPU)")
    parser.add_argument("--precisions", default="4bit,bf16")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128 if gpu else 32)
    parser.add_argument("--variants", nargs="?", const="all", default="",
                        help="also measure these lora_variants.NAMES (comma-separated; alone: all)")
    parser.add_argument("--variant-reps", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=16 if gpu else 0,
                        help="modes take turns this many tokens at a time (0: one whole decode each, "
                             "in turn; default 16 on a GPU, whose speed swings in phases of seconds)")
    parser.add_argument("--switches", type=int, default=200)
    parser.add_argument("--cache", type=Path, default=model_shapes.CACHE_DIR)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--note", default="", help="stored in the JSON, e.g. that the machine was shared")
    args = parser.parse_args(argv)
    shapes = [SHAPES.get(s.strip(), s.strip()) for s in args.shapes.split(",") if s.strip()]
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]

    from rich.console import Console

    out = Console(width=None if sys.stdout.isatty() else 150)  # the main table has 13 columns
    info = machine_info()
    try:
        info["device_name"] = mx.device_info().get("device_name")
    except (AttributeError, RuntimeError):
        info["device_name"] = None
    info["tag"] = machine_tag(info)
    from evotr.infrastructure.mlx.lora_cuda import kernel_works

    info["lora_group_kernel"] = kernel_works()  # which path the adapter mode takes here
    path = args.out or _HERE / "results" / f"decode_{info['tag']}.json"
    result: dict[str, Any] = {
        "benchmark": "decode", "machine": info, "gpu": gpu, "note": args.note,
        "targets": {**TARGETS, "adapter_ratio_min_gpu_shapes": list(GPU_ADAPTER_TARGET_SHAPES)},
        "config": {"shapes": shapes, "precisions": precisions, "reps": args.reps, "tokens": args.tokens,
                   "variants": _variants(args.variants),
                   "variant_reps": args.variant_reps, "chunk": args.chunk,
                   "adapter_rank": shaped_adapters.ADAPTER_RANK,
                   "adapter_layers": shaped_adapters.ADAPTER_LAYERS,
                   "adapter_keys": list(model_shapes.LORA_PROJECTIONS)},
        "not_run": [] if gpu or SHAPES["3b"] in shapes else [CPU_NOT_RUN], "runs": [],
    }
    began = time.perf_counter()
    for shape in shapes:
        for precision in precisions:
            out.print(f"{shape} {precision}:", highlight=False)
            model = shaped_models.ensure_model(shape, precision=precision, cache_dir=args.cache)
            adapters = shaped_adapters.ensure_adapters(shape, 2, cache_dir=args.cache)
            run = decode_compare.measure(
                model, adapters, reps=args.reps, tokens=args.tokens,
                variants=result["config"]["variants"], variant_reps=args.variant_reps,
                switches=args.switches, chunk=args.chunk,
                log=lambda line: out.print(line, highlight=False, markup=False))
            run.update(shape=shape, precision=precision)
            run["pass"] = judge(run, gpu)
            result["runs"].append(run)
            result["runtime_s"] = time.perf_counter() - began
            write_json(result, path)
    result["pass"] = {"all": all(run["pass"]["all"] for run in result["runs"])}
    write_json(result, path)
    out.print(table(result))
    if args.variants:
        out.print(variants_table(result))
    out.print(f"results: {path}")
    return 0 if result["pass"]["all"] else 1


if __name__ == "__main__":
    sys.exit(main())
