"""Training benchmark (issue 10 item 5): `evotr train` vs `python -m mlx_lm lora` on one config and data.

    python benchmarks/bench_train.py [--iters 30] [--real-model DIR] [--out FILE]

For each model — the tiny random model (built here) and, when found, Gemma 3 270M converted by
`evotr model pull` (``--real-model``, else the real-model tests' cache ``~/.cache/evotr-tests``) —
the same LoRA config (mlx-lm keys) and the same chat dataset are trained twice, each run in its
own process: by the `evotr train` CLI and by stock `python -m mlx_lm lora -c`. Both report
mlx-lm's own per-step timings, so tokens/s is trained tokens over training-step time (validation
and saving left out) for both; the stock run gets the same BLAS as evotr's (LD_PRELOAD).
Prints medians of the runs and the ratio evotr/stock (target ≥ 0.95) plus peak memory, and
writes ``benchmarks/results/train.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import console, finish, machine_info  # noqa: E402

RESULTS = _HERE / "results" / "train.json"
EVOTR = str(Path(sys.executable).with_name("evotr"))
TARGETS = {"tokens_per_s_ratio_min": 0.95}


def write_config(folder: Path, model: Path, data: Path, iters: int, num_layers: int) -> Path:
    """One config for both runs (mlx-lm keys; `family` for evotr, ignored by mlx-lm)."""
    config = folder / "lora.yaml"
    config.write_text(
        f"family: tr_chat\nmodel: {model}\ndata: {data}\ntrain: true\nfine_tune_type: lora\n"
        f"optimizer: adam\nseed: 0\nnum_layers: {num_layers}\nbatch_size: 2\niters: {iters}\n"
        "learning_rate: 1.0e-4\nmask_prompt: true\nmax_seq_length: 512\nsteps_per_report: 5\n"
        f"steps_per_eval: {iters + 1}\nval_batches: 1\nsave_every: {iters + 1}\n"
        f"adapter_path: {folder / 'stock-adapter'}\nlora_parameters:\n  rank: 8\n  scale: 20.0\n"
        "  dropout: 0.0\n", "utf-8")
    return config


def tokens_per_s(reports: list[tuple[int, float, int]]) -> float:
    """Trained tokens over step time, the first report window left out (compilation, warm-up)."""
    windows, before = [], None
    for _, speed, trained in reports:
        if before is not None and speed > 0:
            windows.append((trained - before, (trained - before) / speed))
        before = trained
    tokens, seconds = sum(w[0] for w in windows), sum(w[1] for w in windows)
    return tokens / seconds if seconds else 0.0


def run_stock(config: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--stock-worker", str(config)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def stock_worker(config: Path) -> dict[str, Any]:
    """`python -m mlx_lm lora -c CONFIG` as mlx_lm.lora.main runs it, with a callback that listens.

    mlx-lm 0.32 prints its reports as a rich table, so instead of parsing the screen this makes
    the calls of ``mlx_lm.lora.run`` with the config merged exactly as ``main()`` merges it, and a
    TrainingCallback that only records mlx-lm's own reports.
    """
    import contextlib
    import io
    import types

    import mlx.core as mx
    import mlx_lm.lora as stock
    import numpy as np
    import yaml
    from mlx_lm.tuner.callbacks import TrainingCallback

    args = vars(stock.build_parser().parse_args([]))
    with config.open("r") as handle:
        for key, value in yaml.load(handle, stock.yaml_loader).items():
            if args.get(key) is None:
                args[key] = value
    for key, value in stock.CONFIG_DEFAULTS.items():
        if args.get(key) is None:
            args[key] = value
    reports: list[tuple[int, float, int]] = []

    class Listen(TrainingCallback):  # type: ignore[misc]
        def on_train_loss_report(self, info: dict[str, Any]) -> None:
            reports.append((int(info["iteration"]), float(info["tokens_per_second"]),
                            int(info["trained_tokens"])))

    namespace = types.SimpleNamespace(**args)
    with contextlib.redirect_stdout(io.StringIO()):
        # mlx_lm.lora.run's own steps; run() itself replaces any callback it is given with its
        # report_to callbacks (None here), so its three calls are made directly.
        np.random.seed(namespace.seed)
        model, tokenizer = stock.load(namespace.model, tokenizer_config={"trust_remote_code": False})[:2]
        train_set, valid_set, _ = stock.load_dataset(namespace, tokenizer)
        stock.train_model(namespace, model, train_set, valid_set, Listen())
    from evotr.infrastructure.mlx.blas import mlx_binding

    return {"tokens_per_s": tokens_per_s(reports), "peak_memory_mb": mx.get_peak_memory() / 2**20,
            "reports": len(reports), "blas": mlx_binding()}


def run_evotr(config: Path, model: Path, home: Path, env: dict[str, str]) -> dict[str, Any]:
    # A fresh interpreter that trains as `evotr train` does and hands back mlx-lm's step reports.
    done = subprocess.run([sys.executable, __file__, "--evotr-worker", str(config), str(model), str(home)],
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def evotr_worker(config: Path, model: Path, home: Path) -> dict[str, Any]:
    """`evotr train` through its use case as the CLI wires it, collecting mlx-lm's reports."""
    from evotr.infrastructure.mlx.blas import configure_blas

    configure_blas()
    from evotr.container import build_container
    from evotr.infrastructure.config.lora_config import load_lora_config

    loaded = load_lora_config(config)
    container = build_container(None, home, env={}, model=str(model))
    container.use_cases.init_home().execute()
    reports: list[tuple[int, float, int]] = []

    def collect(event: Any) -> None:
        if event.get("kind") == "train":
            reports.append((int(event["iteration"]), float(event["tokens_per_second"]),
                            int(event["trained_tokens"])))

    options = {k: v for k, v in loaded.options.items() if k != "mask_prompt"}
    outcome = container.use_cases.train_adapter().execute(
        "tr_chat", Path(str(loaded.data)), iterations=loaded.iterations, rank=loaded.rank,
        num_layers=loaded.num_layers, batch_size=loaded.batch_size, learning_rate=loaded.learning_rate,
        max_seq_length=loaded.max_seq_length, mask_prompt=True, options=options, progress=collect)
    from evotr.infrastructure.mlx.blas import mlx_binding

    return {"tokens_per_s": tokens_per_s(reports), "peak_memory_mb": outcome.metrics.peak_memory_mb,
            "reports": len(reports), "blas": mlx_binding()}


def bench_model(model: Path, data: Path, iters: int, repeats: int, num_layers: int) -> dict[str, Any]:
    from evotr.infrastructure.mlx.blas import prepare_blas

    status = prepare_blas()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if status.path:  # the stock run gets the BLAS evotr loads for itself
        env["LD_PRELOAD"] = str(status.path)
    runs: dict[str, list[dict[str, Any]]] = {"evotr": [], "stock": []}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-train-") as scratch:
            folder = Path(scratch)
            config = write_config(folder, model, data, iters, num_layers)
            runs["stock"].append(run_stock(config, env))
            runs["evotr"].append(run_evotr(config, model, folder / "home", env))
    result: dict[str, Any] = {"model": str(model), "iters": iters, "num_layers": num_layers, "runs": runs}
    for side in runs:
        result[side] = {key: statistics.median(r[key] for r in runs[side])
                        for key in ("tokens_per_s", "peak_memory_mb")}
    result["ratio"] = result["evotr"]["tokens_per_s"] / result["stock"]["tokens_per_s"]
    return result


def default_real_model() -> Path | None:
    cache = Path(os.environ.get("EVOTR_TEST_MODELS") or Path.home() / ".cache" / "evotr-tests")
    found = sorted((cache / "models").glob("gemma-3-270m*/evotr_model.json"))
    return found[0].parent if found else None


def run(iters: int, repeats: int, real_model: Path | None) -> dict[str, Any]:
    from evotr.infrastructure.mlx.tiny_datasets import write_tiny_chat_dataset
    from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

    scratch = Path(tempfile.mkdtemp(prefix="bench-train-data-"))
    data = write_tiny_chat_dataset(scratch / "data", "tr_chat")
    models = {"tiny (random)": (ensure_tiny_model(scratch / "tiny"), 2)}
    if real_model is not None:
        models["Gemma 3 270M"] = (real_model, 4)
    result: dict[str, Any] = {"machine": machine_info(), "targets": TARGETS, "repeats": repeats,
                              "models": {}}
    for name, (model, layers) in models.items():
        result["models"][name] = bench_model(model, data, iters, repeats, layers)
    ratios = {name: r["ratio"] >= TARGETS["tokens_per_s_ratio_min"] for name, r in result["models"].items()}
    result["pass"] = {**ratios, "all": all(ratios.values())}
    return result


def table(result: dict[str, Any]) -> Any:
    from rich.table import Table

    out = Table(title=f"LoRA training: evotr train vs python -m mlx_lm lora (median of {result['repeats']})")
    for column in ("model", "evotr tokens/s", "stock tokens/s", "ratio", "evotr peak MB", "stock peak MB"):
        out.add_column(column)
    for name, r in result["models"].items():
        out.add_row(name, f"{r['evotr']['tokens_per_s']:.0f}", f"{r['stock']['tokens_per_s']:.0f}",
                    f"{r['ratio']:.3f}", f"{r['evotr']['peak_memory_mb']:.0f}",
                    f"{r['stock']['peak_memory_mb']:.0f}")
    out.caption = "same config and data; each run in its own process; target ratio ≥ 0.95"
    return out


def main(argv: list[str] | None = None) -> int:
    """Run, write the JSON, print the table; exit 1 if a ratio misses the target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--real-model", type=Path, default=None)
    parser.add_argument("--no-real-model", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--stock-worker", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--evotr-worker", nargs=3, metavar=("CONFIG", "MODEL", "HOME"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stock_worker:
        print(json.dumps(stock_worker(Path(args.stock_worker))))
        return 0
    if args.evotr_worker:
        config, model, home = (Path(p) for p in args.evotr_worker)
        print(json.dumps(evotr_worker(config, model, home)))
        return 0
    # Before anything imports mlx: the BLAS found here is the one both workers get (LD_PRELOAD);
    # found after mlx, it would be the wheel's reference BLAS and both runs would crawl.
    from evotr.infrastructure.mlx.blas import prepare_blas

    prepare_blas()
    real = None if args.no_real_model else (args.real_model or default_real_model())
    result = run(args.iters, args.repeats, real)
    return finish(console(), result, table(result), args.out)


if __name__ == "__main__":
    sys.exit(main())
