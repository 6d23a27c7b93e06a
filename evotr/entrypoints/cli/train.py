"""`evotr train -c CONFIG`: mlx-lm LoRA training in-process, with progress, metrics and a loss curve.

The config uses mlx-lm's own keys (``python -m mlx_lm lora -c CONFIG`` runs it too). evotr always
trains on the home's base model (``model.path``): an adapter only serves the model it was trained on.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from evotr.domain.errors import EvoTrError
from evotr.domain.training import PRESETS, TrainingConfig, with_preset
from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.errors import friendly_errors


@click.command()
@click.option("-c", "--config", "config_file", required=True, metavar="FILE",
              type=click.Path(path_type=Path, dir_okay=False),
              help="LoRA config in mlx-lm's keys, e.g. configs/lora_tr_config_v2.yaml.")
@click.option("--family", default=None, help="Adapter family (default: the config's `family`).")
@click.option("--data", "data", default=None, metavar="DIR",
              help="Dataset folder with train.jsonl/valid.jsonl, or a name under <home>/data/training/.")
@click.option("--preset", type=click.Choice(list(PRESETS)), default=None,
              help="memory-friendly: batch 2, 8 layers, rank 8, seq 512 (what fit after the notes' OOM).")
@click.option("--promote", is_flag=True, help="Make the new version active (the first version always is).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_obj
@friendly_errors
def train(state: Any, config_file: Path, family: str | None, data: str | None, preset: str | None,
          promote: bool, as_json: bool) -> None:
    """Train the next version of a family: adapters/<family>_v<N>/ with manifest.json and loss.png."""
    from evotr.infrastructure.config.lora_config import load_lora_config

    config = load_lora_config(config_file)
    if preset is not None:
        config = with_preset(config, preset)
    container = state.container()
    settings = container.settings()
    target = family or config.family
    if not target:
        raise EvoTrError(f"{config_file}: no family: set `family:` in the file or pass --family")
    dataset = _dataset(data or config.data, settings.data_dir / "training", config_file)
    _warn_other_model(config, settings.model.path, config_file)
    options = {k: v for k, v in config.options.items() if k != "mask_prompt"}
    source = {**config.source, **({"preset": preset} if preset else {})}
    console = Console(stderr=True)
    with TrainingBar(console, config.iterations, quiet=as_json) as report:
        outcome = container.use_cases.train_adapter().execute(
            target, dataset, iterations=config.iterations, rank=config.rank,
            num_layers=config.num_layers, batch_size=config.batch_size,
            learning_rate=config.learning_rate, max_seq_length=config.max_seq_length,
            mask_prompt=bool(config.options.get("mask_prompt", True)),
            promote=True if promote else None, options=options, config=source, progress=report,
        )
    store = container.storage.adapter_store()
    summary = _summary(outcome, store.path(outcome.version), store.loss_curve(outcome.version))
    if as_json:
        render.print_json(Console(), summary)
        return
    _print_summary(summary)


def _dataset(value: str | None, prepared: Path, config_file: Path) -> Path:
    """A folder as given (relative to the working directory, as mlx-lm reads it) or a prepared name."""
    if not value:
        raise EvoTrError(f"{config_file}: no dataset: set `data:` in the file or pass --data DIR")
    given = Path(value).expanduser()
    for candidate in (given, prepared / value):
        if candidate.is_dir():
            return candidate
    raise EvoTrError(f"dataset {value!r} not found: neither {given} nor {prepared / value} is a folder; "
                     "`evotr data prepare --name NAME` writes one, or pass --data DIR")


def _warn_other_model(config: TrainingConfig, home_model: str, config_file: Path) -> None:
    if config.model is None:
        return
    named, used = Path(config.model).expanduser(), Path(home_model).expanduser()
    same = named == used or (named.exists() and used.exists() and named.resolve() == used.resolve())
    if not same:
        click.echo(f"warning: {config_file}: model {config.model!r} is not this home's model; training on "
                   f"{home_model} (model.path), the model its adapters serve", err=True)


class TrainingBar:
    """A rich bar (iteration, loss, tokens/s, ETA) fed by the trainer's reports."""

    def __init__(self, console: Console, iterations: int, *, quiet: bool) -> None:
        self._progress = Progress(
            TextColumn("[bold]training"), BarColumn(), TextColumn("it {task.completed}/{task.total}"),
            TextColumn("{task.fields[loss]}"), TextColumn("{task.fields[speed]}"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True,
            disable=quiet or not console.is_terminal,
        )
        self._task = self._progress.add_task("train", total=iterations, loss="val loss …", speed="")

    def __enter__(self) -> Any:
        self._progress.start()
        return self._report

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def _report(self, event: Mapping[str, object]) -> None:
        iteration = int(event.get("iteration", 0))  # type: ignore[call-overload]
        if event.get("kind") == "train":
            speed = event.get("tokens_per_second")
            self._progress.update(self._task, completed=iteration, loss=f"loss {event['train_loss']:.3f}",
                                  speed=f"{speed:.0f} tok/s" if isinstance(speed, float) else "")
        elif event.get("kind") == "val":
            self._progress.update(self._task, loss=f"val loss {event['val_loss']:.3f}")


def _summary(outcome: Any, folder: Path, curve: Path | None) -> dict[str, object]:
    m = outcome.metrics
    return {
        "version": outcome.version.name, "promoted": outcome.promoted, "folder": str(folder),
        "start_val_loss": m.start_val_loss, "final_val_loss": m.final_val_loss,
        "improvement_pct": m.improvement_pct, "duration_s": round(m.duration_s, 2),
        "tokens_per_s": round(m.tokens_per_s, 1), "peak_memory_mb": m.peak_memory_mb,
        "loss_curve": None if curve is None else str(curve),
    }


def _print_summary(s: dict[str, object]) -> None:
    def num(key: str, fmt: str) -> str:
        value = s[key]
        return format(value, fmt) if isinstance(value, (int, float)) else "—"

    click.echo(f"trained {s['version']} in {num('duration_s', '.1f')} s "
               f"({num('tokens_per_s', '.0f')} tokens/s, peak memory {num('peak_memory_mb', '.0f')} MB)")
    click.echo(f"  val loss {num('start_val_loss', '.3f')} → {num('final_val_loss', '.3f')} "
               f"({num('improvement_pct', '+.1f')} %)")
    click.echo(f"  adapter: {s['folder']}")
    if s["loss_curve"]:
        click.echo(f"  loss curve: {s['loss_curve']}")
    if s["promoted"]:
        click.echo(f"  {s['version']} is now active")
    else:
        click.echo(f"  not promoted; the active version stays. `evotr adapters promote {s['version']}` "
                   "makes it active (`evotr adapters compare` first)")
    sys.stdout.flush()
