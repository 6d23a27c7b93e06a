"""`evotr adapters show` and `evotr adapters compare`: attached to the `adapters` group in cli.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.errors import friendly_errors

# The adapter_config.json keys that say how an adapter was trained, in the order people read them.
_CONFIG_KEYS = ("model", "data", "fine_tune_type", "num_layers", "lora_parameters", "iters",
                "batch_size", "learning_rate", "max_seq_length", "mask_prompt", "grad_checkpoint", "seed")


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


@click.command("show")
@click.argument("version")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
@friendly_errors
def adapters_show(state: Any, version: str, as_json: bool) -> None:
    """VERSION's manifest (metrics, base model, dataset), training config and loss-curve path."""
    details = state.container().use_cases.show_adapter().execute(version)
    console = Console()
    if as_json:
        render.print_json(console, details.as_dict())
        return
    status = "active" if details.active else "not active"
    click.echo(f"{details.version} (family {details.version.family}, {status})")
    click.echo(f"  folder: {details.folder}")
    manifest = details.manifest
    if manifest is None:
        click.echo("  manifest: none (manifest.json missing)")
    else:
        click.echo(f"  base model: {manifest.base_model}")
        click.echo(f"  dataset: {manifest.dataset or '—'}")
        click.echo(f"  created: {manifest.created_at.isoformat(timespec='seconds')}")
        extra = {k: v for k, v in manifest.to_json().items()
                 if k not in {"family", "version", "base_model", "dataset", "metrics", "created_at"}}
        for key, value in extra.items():
            click.echo(f"  {key}: {render.terminal_safe(str(value))}")
        if manifest.metrics:
            table = Table(title="metrics", show_header=False, title_justify="left")
            table.add_column("metric")
            table.add_column("value", justify="right")
            for key, value in manifest.metrics.items():
                table.add_row(key, "—" if value is None else _number(value))
            console.print(table)
    config = details.training_config
    if config is not None:
        click.echo("  training config (adapter_config.json):")
        for key in (k for k in _CONFIG_KEYS if k in config):
            click.echo(f"    {key}: {render.terminal_safe(str(config[key]))}")
        others = len([k for k in config if k not in _CONFIG_KEYS])
        if others:
            click.echo(f"    (+{others} more keys: `--json` shows them all)")
    curve = details.loss_curve
    click.echo(f"  loss curve: {curve if curve is not None else 'none (no loss.png beside the manifest)'}")
    for problem in details.problems:
        click.echo(f"  problem: {problem}")


def _percent(share: float) -> str:
    return f"{share:.0%}"


def _scores_table(comparison: Any) -> Table:
    where = comparison.data or "no data"
    table = Table(title=f"base vs {comparison.a.label} vs {comparison.b.label} on {where} "
                        f"(mask_prompt={str(comparison.mask_prompt).lower()})")
    for column in ("model", "val loss", "perplexity", "tokens", "preference accuracy"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for model in comparison.models:
        loss, pref = model.loss, model.preference
        table.add_row(
            model.label,
            "—" if loss is None else f"{loss.loss:.4f}",
            "—" if loss is None else f"{loss.perplexity:.2f}",
            "—" if loss is None else str(loss.tokens),
            "—" if pref is None else f"{pref.accuracy:.0%} ({pref.wins}/{pref.pairs})",
        )
    return table


def _warning_panel(warning: Any) -> Panel:
    causes = "\n".join(f"  • {cause}" for cause in warning.causes)
    return Panel(f"[bold]{warning.headline}[/bold]\nLikely causes:\n{causes}",
                 title="⚠ WARNING", border_style="bold red", expand=False)


@click.command("compare")
@click.argument("a")
@click.argument("b")
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="mlx-lm chat dataset folder with valid.jsonl (default: the one the manifests name).")
@click.option("--prompts", type=click.Path(path_type=Path), default=None,
              help="Prompts for the greedy-output check: one per line, or .jsonl of {\"prompt\"} "
                   "(default: 8 built-in).")
@click.option("--pairs", type=click.Path(path_type=Path), default=None,
              help='JSONL of {"prompt", "chosen", "rejected"}: preference accuracy of each model.')
@click.option("--max-tokens", type=click.IntRange(min=1), default=32, show_default=True,
              help="Length of each greedy answer.")
@click.option("--mask-prompt/--no-mask-prompt", default=None,
              help="Loss over the answers only (default: as A was trained).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with every output) instead of text.")
@click.pass_obj
@friendly_errors
def adapters_compare(state: Any, a: str, b: str, data: Path | None, prompts: Path | None,
                     pairs: Path | None, max_tokens: int, mask_prompt: bool | None, as_json: bool) -> None:
    """Base model vs versions A and B: val loss, perplexity, identical greedy outputs, preferences.

    All three run on one resident model (the adapters are hot-swapped). Adapters that answer
    exactly like the base model, or A exactly like B, get a loud warning with the likely causes.
    """
    comparison = state.container().use_cases.compare_adapters().execute(
        a, b, data=data, prompts=prompts, pairs=pairs, max_tokens=max_tokens, mask_prompt=mask_prompt)
    console = Console()
    warnings = comparison.warnings
    if as_json:
        render.print_json(console, comparison.as_dict())
        for warning in warnings:  # stdout stays pure JSON; a script still sees the alarm
            click.echo(f"warning: {warning.headline}", err=True)
        return
    console.print(_scores_table(comparison))
    shares = " · ".join(f"{pair} {_percent(share)}" for pair, share in comparison.agreement().items())
    console.print(f"Identical greedy outputs over {len(comparison.prompts)} prompts: {shares}")
    for note in comparison.notes:
        console.print(f"note: {note}", style="yellow")
    for warning in warnings:
        console.print(_warning_panel(warning))
    if not warnings:
        console.print("No sameness found: each adapter changes some answers, and A differs from B.")
