"""The peer: PyTorch + PEFT on the same shapes in bf16, side by side with evotr (issue 14 item 4).

    python benchmarks/peer_peft.py [--shapes 0.5b,3b] [--evotr results/decode_<machine>.json]
                                   [--reps 5] [--tokens 128] [--out PATH]

A Qwen2 model of each shape (``model_shapes``; random bf16 weights, built in memory) gets two
PEFT LoRA adapters shaped like evotr's benchmark adapters (rank 8, the last 8 blocks, all 7
projections, random non-zero weights). Measured, interleaved like ``bench_decode.py`` (steady
and mean rates, the order reversed every other repetition): greedy decode tokens/s of the plain
model (a copy never wrapped), of the PEFT model inside
``disable_adapter()`` and with an adapter active, and the time of ``set_adapter`` (A <-> B) and
of entering + leaving ``disable_adapter()``. PEFT's defaults are kept (``autocast_adapter_dtype``
keeps its LoRA weights in float32 on a bf16 model, as a user would get).

With ``--evotr`` (``bench_decode.py``'s JSON from the same machine) the table puts evotr's bf16
rows beside PEFT's. Runs only where torch, transformers and peft import; elsewhere it prints one
line saying so and exits 0.
"""

from __future__ import annotations

import argparse
import copy
import gc
import itertools
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from model_shapes import LORA_PROJECTIONS, Shape, get_shape  # noqa: E402

SHAPES = {"0.5b": "qwen2.5-0.5b-shape", "3b": "qwen2.5-3b-shape", "tiny": "tiny"}
RANK, LAYERS, SCALE = 8, 8, 20.0  # shaped_adapters' rank and blocks; mlx-lm's default scale
PROMPT_TOKENS = 17  # evotr's chat prompt in bench_decode; its JSON gives the real count


def _sync(torch: Any) -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def build(shape: Shape, device: str) -> tuple[Any, Any]:
    """(plain model, PEFT model with adapters ``a`` and ``b``, ``a`` active), bf16, eval mode."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=shape.vocab_size, hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size, num_hidden_layers=shape.num_layers,
        num_attention_heads=shape.num_heads, num_key_value_heads=shape.num_kv_heads,
        max_position_embeddings=shape.max_position_embeddings, rms_norm_eps=shape.rms_norm_eps,
        tie_word_embeddings=shape.tie_word_embeddings)
    torch.manual_seed(0)
    with torch.device(device):  # random init on the device itself: seconds, not minutes
        plain = Qwen2ForCausalLM(config).to(dtype=torch.bfloat16).eval()
    lora = LoraConfig(
        r=RANK, lora_alpha=SCALE * RANK, lora_dropout=0.0, init_lora_weights=False,
        target_modules=[key.split(".")[-1] for key in LORA_PROJECTIONS],
        layers_to_transform=list(range(max(0, shape.num_layers - LAYERS), shape.num_layers)))
    peft_model = get_peft_model(copy.deepcopy(plain), lora, adapter_name="a")
    peft_model.add_adapter("b", copy.deepcopy(lora))
    peft_model.set_adapter("a")
    return plain, peft_model.eval()


def decode(model: Any, prompt: list[int], tokens: int, device: str) -> tuple[float, float]:
    """Greedy decode, KV cache on: (mean tok/s after the first token, steady tok/s).

    As ``decode_compare.timed_decode``: steady is one over the median gap between tokens. The
    loop is host-bound (Python per layer), so the host's gaps are the tokens' cost; the end is
    synchronised, so the mean counts every kernel.
    """
    import torch

    gc.collect()
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([prompt], device=device), use_cache=True)
        past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
        _sync(torch)
        stamps = [time.perf_counter()]
        for _ in range(tokens - 1):
            out = model(input_ids=token, past_key_values=past, use_cache=True)
            past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
            stamps.append(time.perf_counter())
        _sync(torch)
        stamps[-1] = time.perf_counter()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return (tokens - 1) / (stamps[-1] - stamps[0]), 1 / statistics.median(gaps)


def _ms(action: Any, count: int) -> float:
    times = []
    for i in range(count):
        started = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(shape: Shape, *, reps: int, tokens: int, prompt_tokens: int, device: str) -> dict[str, Any]:
    """One shape: decode plain / disabled / adapter interleaved, switch times, memory."""
    import torch

    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated() if cuda else 0
    plain, peft_model = build(shape, device)
    generator = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, shape.vocab_size, (prompt_tokens,), generator=generator).tolist()

    def run(mode: str, count: int) -> tuple[float, float]:
        if mode == "plain":
            return decode(plain, prompt, count, device)
        if mode == "disabled":
            with peft_model.disable_adapter():
                return decode(peft_model, prompt, count, device)
        return decode(peft_model, prompt, count, device)

    modes = ("plain", "disabled", "adapter")
    # Warm-up at full length, twice: a first full decode of each mode ran at a fifth of the speed
    # (CUDA kernels' first launches and allocator growth) after an 8-token warm-up.
    for _ in range(2):
        for mode in modes:
            run(mode, tokens)
    rates: dict[str, list[float]] = {mode: [] for mode in modes}
    steady: dict[str, list[float]] = {mode: [] for mode in modes}
    gc.freeze()
    for rep in range(reps):
        for mode in modes if rep % 2 == 0 else reversed(modes):
            mean, typical = run(mode, tokens)
            rates[mode].append(mean)
            steady[mode].append(typical)
    gc.unfreeze()
    medians = {mode: statistics.median(values) for mode, values in steady.items()}
    means = {mode: statistics.median(values) for mode, values in rates.items()}

    def toggle(_i: int) -> None:
        context = peft_model.disable_adapter()
        context.__enter__()
        context.__exit__(None, None, None)

    adapter_dtype = next(p.dtype for n, p in peft_model.named_parameters() if "lora_A" in n)
    return {
        "shape": shape.name, "precision": "bf16", "reps": reps, "tokens": tokens,
        "modes": {mode: {"steady_tps": steady[mode], "median": medians[mode], "min": min(steady[mode]),
                         "max": max(steady[mode]), "ratio": medians[mode] / medians["plain"],
                         "mean_tps": rates[mode], "mean_median": means[mode],
                         "mean_ratio": means[mode] / means["plain"]}
                  for mode in modes},
        "set_adapter_median_ms": _ms(lambda i: peft_model.set_adapter("b" if i % 2 == 0 else "a"), 200),
        "disable_adapter_enter_exit_median_ms": _ms(toggle, 200),
        "adapter_dtype": str(adapter_dtype),
        "memory": {"allocated_bytes": (torch.cuda.memory_allocated() - before) if cuda else None,
                   "peak_bytes": torch.cuda.max_memory_allocated() if cuda else None},
    }


def side_by_side(peft_runs: list[dict[str, Any]], evotr: dict[str, Any] | None) -> list[list[str]]:
    """Rows (header first): evotr's bf16 runs beside PEFT's, shape by shape."""
    rows = [["shape (bf16)", "stack", "plain tok/s", "off: tok/s (×plain)", "adapter: tok/s (×plain)",
             "switch ms"]]
    mine = {run["shape"]: run for run in (evotr or {}).get("runs", []) if run["precision"] == "bf16"}
    for run in peft_runs:
        label = run["shape"].replace("qwen2.5-", "").replace("-shape", "")
        ours = mine.get(run["shape"])
        if ours is not None:
            m = ours["modes"]
            switch = ours["switch"].get("adapter_adapter", ours["switch"]["none_adapter"])
            rows.append([label, "evotr (MLX), none / adapter", f"{m['plain']['median']:.1f}",
                         f"{m['none']['median']:.1f} ({m['none']['ratio']:.2f})",
                         f"{m['adapter']['median']:.1f} ({m['adapter']['ratio']:.2f})",
                         f"{switch['median_ms']:.4f}"])
        m = run["modes"]
        rows.append([label, "PyTorch + PEFT, disabled / adapter", f"{m['plain']['median']:.1f}",
                     f"{m['disabled']['median']:.1f} ({m['disabled']['ratio']:.2f})",
                     f"{m['adapter']['median']:.1f} ({m['adapter']['ratio']:.2f})",
                     f"{run['set_adapter_median_ms']:.4f}"])
    return rows


def _print(rows: list[list[str]], title: str) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(title)
        for row in rows:
            print(" | ".join(row))
        return
    table = Table(title=title)
    for name in rows[0]:
        table.add_column(name)
    for row in rows[1:]:
        table.add_row(*row)
    Console(width=None if sys.stdout.isatty() else 130).print(table)


def main(argv: list[str] | None = None) -> int:
    """Measure PEFT (if it is here), write the JSON, print the side-by-side table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=None, help="comma-separated: 0.5b, 3b, tiny")
    parser.add_argument("--evotr", type=Path, help="bench_decode.py's JSON from this machine")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--out", type=Path, default=_HERE / "results" / "peer_peft.json")
    parser.add_argument("--table-only", type=Path, metavar="PEFT_JSON",
                        help="print the side-by-side table of an earlier run (no torch needed)")
    args = parser.parse_args(argv)
    evotr = json.loads(args.evotr.read_text("utf-8")) if args.evotr and args.evotr.is_file() else None
    if args.table_only:
        done = json.loads(args.table_only.read_text("utf-8"))
        _print(side_by_side(done["runs"], evotr),
               f"evotr vs PyTorch + PEFT, bf16, {done['machine']['device']}")
        return 0
    try:
        import peft
        import torch
        import transformers
    except ImportError as exc:
        print(f"peer_peft: skipped: {exc.name} is not installed here (it needs torch, transformers "
              "and peft; the lent GPU machine has them)")
        return 0
    device = "cuda" if torch.cuda.is_available() else "cpu"
    shapes = args.shapes or ("0.5b,3b" if device == "cuda" else "0.5b")
    prompt_tokens = next((run["prompt_tokens"] for run in (evotr or {}).get("runs", [])), PROMPT_TOKENS)
    result: dict[str, Any] = {
        "benchmark": "peer_peft",
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
                    "torch": torch.__version__, "transformers": transformers.__version__,
                    "peft": peft.__version__,
                    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "config": {"rank": RANK, "layers": LAYERS, "keys": list(LORA_PROJECTIONS),
                   "prompt_tokens": prompt_tokens, "evotr_json": str(args.evotr) if evotr else None},
        "runs": [],
    }
    for name in (s.strip() for s in shapes.split(",") if s.strip()):
        shape = get_shape(SHAPES.get(name, name))
        print(f"{shape.name} bf16 (PEFT on {device}):", flush=True)
        run = measure(shape, reps=args.reps, tokens=args.tokens, prompt_tokens=prompt_tokens, device=device)
        rates = ", ".join(f"{m} {v['median']:.1f} tok/s ({v['ratio']:.3f}x)" for m, v in run["modes"].items())
        print(f"  {rates}; set_adapter {run['set_adapter_median_ms']:.3f} ms", flush=True)
        result["runs"].append(run)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", "utf-8")
        if device == "cuda":
            torch.cuda.empty_cache()
    result["side_by_side"] = side_by_side(result["runs"], evotr)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", "utf-8")
    _print(result["side_by_side"], f"evotr vs PyTorch + PEFT, bf16, {result['machine']['device']} "
                                   f"({args.tokens} tokens, median of {args.reps})")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
