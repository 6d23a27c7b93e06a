"""`evotr data …`: generate training samples, count them, prepare mlx-lm datasets.

Exit codes of `data generate`: 0 the category holds --count samples; 3 the API quota ran out
(rerun the same command after the printed time: it resumes); 1 any other error or a run that
gave up after too many rejected answers.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from evotr.application.datagen import (
    GENERATOR_BACKENDS,
    GenerationProgress,
    GenerationRunReport,
    RejectReason,
)
from evotr.domain.generation import GeneratorStats
from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.errors import friendly_errors

EXIT_QUOTA = 3
F = TypeVar("F", bound=Callable[..., Any])




class _PerMinute(ProgressColumn):
    """Samples per minute (rich's own speed columns speak bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text("–/min" if speed is None else f"{speed * 60:.1f}/min", style="progress.data.speed")


@click.group()
def data() -> None:
    """Training data: generate samples (Gemma or the local model), inspect, prepare datasets."""


@data.command("generate")
@click.option("--category", required=True, help="A category of generation.yaml, e.g. python_code.")
@click.option("--count", type=click.IntRange(min=1), required=True,
              help="Total valid samples wanted in the category; existing ones count, so reruns resume.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Requests in flight at once (default: generator.concurrency).")
@click.option("--rpm", type=click.IntRange(min=1), default=None, help="Requests per minute per key.")
@click.option("--tpm", type=click.IntRange(min=1), default=None, help="Tokens per minute per key.")
@click.option("--rpd", type=click.IntRange(min=1), default=None, help="Requests per day per key.")
@click.option("--backend", type=click.Choice(GENERATOR_BACKENDS), default=None,
              help="gemma (API), mlx (local model) or memory (tests); default: generator.backend.")
@click.option("--max-retries", type=click.IntRange(min=0), default=None,
              help="Retries of a request the endpoint never answers before the run stops "
                   "(default: generator.max_retries).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.pass_obj
@friendly_errors
def generate(state: Any, category: str, count: int, concurrency: int | None, rpm: int | None,
             tpm: int | None, rpd: int | None, backend: str | None, max_retries: int | None,
             as_json: bool) -> None:
    """Bring CATEGORY up to COUNT distinct valid samples (exit 3: quota ran out, rerun later)."""
    from dependency_injector import providers

    container = state.container()
    config = container.models.generation_config().with_limits(
        rpm=rpm, tpm=tpm, rpd=rpd, backend=backend, concurrency=concurrency, max_retries=max_retries)
    config.category(category)  # an unknown category fails before any generator is built
    container.models.generation_config.override(providers.Object(config))
    container.config.backends.generator.override(config.generator.backend)
    generator = container.models.generator()
    use_case = container.use_cases.generate_data()
    err = Console(stderr=True)
    with Progress(TextColumn(f"[bold]{category}[/bold]"), BarColumn(), MofNCompleteColumn(),
                  _PerMinute(), TextColumn("{task.fields[rejected]} rejected"), TimeElapsedColumn(),
                  TextColumn("ETA"), TimeRemainingColumn(), console=err) as bar:
        task = bar.add_task(category, total=count, rejected=0)

        def progress(event: GenerationProgress) -> None:
            bar.update(task, completed=event.total_valid, rejected=event.rejected)

        async def run() -> GenerationRunReport:
            try:
                report: GenerationRunReport = await use_case.run(
                    category, count, concurrency=config.generator.concurrency, progress=progress)
                return report
            finally:
                close = getattr(generator, "aclose", None)  # HTTP sessions belong to this loop
                if close is not None:
                    await close()

        report = asyncio.run(run())
    stats = generator.stats()
    if as_json:
        render.print_json(Console(), {"report": report.as_dict(), "generator": stats.as_dict()})
    else:
        Console().print(_generate_table(report, stats))
        Console(soft_wrap=True).print(f"run file: {report.location or '(nothing written)'}")
    for name, masked, reason in getattr(generator, "refused_keys", []):
        err.print(f"warning: {name} ({masked}) was refused by the API ({reason}) and not used after "
                  f"that; fix or unset {name}", markup=False, highlight=False, soft_wrap=True)
    if report.stopped_by_quota:
        err.print(f"⏸  quota exhausted: {report.stop_message}. {_resume_hint(report.resume_at)}",
                  markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_QUOTA)
    if not report.complete:
        err.print(f"error: gave up after {report.attempts} attempts with {report.total_valid} of "
                  f"{report.wanted} samples; {_gave_up_hint(report)}", markup=False, highlight=False,
                  soft_wrap=True)
        sys.exit(1)


def _gave_up_hint(report: GenerationRunReport) -> str:
    reason, times = max(report.rejects.items(), key=lambda item: item[1], default=("", 0))
    if reason == RejectReason.REJECTED_BY_API.value:
        return (f"the API refused {times} requests (see the warnings above and the 'refused by the API' "
                "row); fix that, then rerun the same command")
    return f"most rejects: {reason}={times} (is the prompt template right?)"


def _resume_hint(resume_at: datetime | None) -> str:
    when = "later" if resume_at is None else f"after {resume_at.astimezone():%Y-%m-%d %H:%M %Z}"
    return f"Run the same command {when} to resume."


def _rate(amount: int, elapsed_s: float, allowed: float | None) -> str:
    if elapsed_s <= 0:
        return "–"
    per_minute = amount / max(elapsed_s, 60.0) * 60
    if not allowed:
        return f"{per_minute:,.1f}/min"
    # Limits hold per sliding minute: in 60.5 s a limit of 30/min permits 60 requests (30 at once,
    # 30 more a minute later), so the share compares with what the limit permits in the elapsed
    # time, never above 100 % unless a limit was broken.
    permitted = allowed * (int(elapsed_s // 60) + 1)
    return f"{per_minute:,.1f}/min, limit {allowed:,.0f}/min ({amount / permitted:.0%} of what it permits)"


def _generate_table(report: GenerationRunReport, stats: GeneratorStats) -> Table:
    table = Table(title=f"data generate · {report.category}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    # Fakes report no elapsed time of their own; the run's wall time stands in.
    elapsed = stats.elapsed_s or report.elapsed_s
    rows = [
        ("samples in category", f"{report.total_valid} / {report.wanted}"),
        ("written this run", f"{report.written} (already there: {report.existing})"),
        ("requests", str(stats.requests)),
        ("tokens in / out", f"{stats.prompt_tokens:,} / {stats.output_tokens:,}"),
        ("429 per minute / per day", f"{stats.rate_limited_minute} / {stats.rate_limited_day}"),
        ("server errors · refused by the API", f"{stats.server_errors} · {stats.rejected}"),
        ("rejects", ", ".join(f"{k}={v}" for k, v in sorted(report.rejects.items())) or "none"),
        ("requests / min (achieved vs allowed)", _rate(stats.requests, elapsed, stats.allowed_rpm)),
        ("tokens / min (achieved vs allowed)",
         _rate(stats.prompt_tokens + stats.output_tokens, elapsed, stats.allowed_tpm)),
        ("unfinished lines skipped", str(report.truncated_lines)),
        ("elapsed", f"{report.elapsed_s:.1f} s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


@data.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@friendly_errors
def stats(state: Any, as_json: bool) -> None:
    """Categories, distinct valid samples per category, and runs."""
    reports = state.container().use_cases.data_stats().execute()
    console = Console()
    if as_json:
        render.print_json(console, [r.as_dict() for r in reports])
        return
    table = Table(title="Training data (data/generated)")
    for column in ("category", "samples", "runs", "duplicates", "unfinished lines", "bad lines"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for r in reports:
        name = r.category if r.configured else f"{r.category} (not in generation.yaml)"
        table.add_row(name, str(r.valid), str(r.runs), str(r.duplicates), str(r.truncated_lines),
                      str(r.malformed_lines))
    console.print(table)


@data.command("prepare")
@click.option("--category", required=True, help="The category whose runs become the dataset.")
@click.option("--name", required=True, help="Dataset folder: data/training/NAME/{train,valid}.jsonl.")
@click.option("--valid-ratio", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.1,
              show_default=True, help="Share of samples in valid.jsonl (chosen by a hash of the id).")
@click.option("--max-seq-length", type=click.IntRange(min=1), default=512, show_default=True,
              help="Samples longer than this many tokens (chat template applied) are dropped.")
@click.option("--system-prompt/--no-system-prompt", default=True, show_default=True,
              help="Start each example with the persona as a system message, as chat does.")
@click.option("--force", is_flag=True,
              help="Overwrite NAME even if an adapter's manifest names it as its training data.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
@friendly_errors
def prepare(state: Any, category: str, name: str, valid_ratio: float, max_seq_length: int,
            system_prompt: bool, force: bool, as_json: bool) -> None:
    """Write CATEGORY's distinct samples as an mlx-lm chat dataset (train/valid split)."""
    container = state.container()
    persona = container.settings().persona if system_prompt else None
    # The adapter store lets prepare refuse to replace a dataset an adapter was trained on.
    use_case = container.use_cases.prepare_data()
    report = use_case.execute(category, name, valid_ratio=valid_ratio, max_seq_length=max_seq_length,
                              system_prompt=persona, force=force)
    console = Console()
    if as_json:
        render.print_json(console, report.as_dict())
        return
    table = Table(title=f"data prepare · {report.category} → {report.name}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for label, value in (("train", report.train), ("valid", report.valid),
                         ("duplicates dropped", report.duplicates),
                         ("too long dropped", report.dropped_too_long),
                         ("unfinished lines skipped", report.truncated_lines), ("runs read", report.runs),
                         ("system prompt", "yes" if report.system_prompt else "no"),
                         ("written to", report.location)):
        table.add_row(label, str(value))
    console.print(table)
