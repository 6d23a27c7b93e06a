"""`evotr router …`: train the intent router, try a message, evaluate it and tune its threshold."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click
from rich.console import Console
from rich.table import Table

from evotr.application.router_eval import RouterReport
from evotr.domain.intents import ALL_INTENTS, Intent, IntentPrediction
from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.errors import friendly_errors

F = TypeVar("F", bound=Callable[..., Any])


class _HasContainer(Protocol):
    def container(self, home: Path | None = None) -> Any: ...




json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
data_option = click.option("--data", "data", required=True, metavar="FILE.jsonl",
                           type=click.Path(path_type=Path, dir_okay=False),
                           help='Labelled messages: one {"text": …, "intent": …} per line.')


def _short(intent: Intent) -> str:
    # Eight full names do not fit an 80-column matrix; the last word is unique.
    return intent.value.rsplit("_", 1)[-1]


def _read_samples(path: Path) -> list[tuple[str, Intent]]:
    from evotr.infrastructure.router.dataset import read_labelled_jsonl

    return read_labelled_jsonl(path)


@click.group()
def router() -> None:
    """The intent router: train it, try a message, evaluate it, tune its threshold."""


@router.command("train")
@click.pass_obj
@friendly_errors
def router_train(state: _HasContainer) -> None:
    """Retrain now from the configured intents file and save it into <home>/router/."""
    container = state.container()
    trainer = container.models.router_trainer()
    trained = trainer.execute().state
    cv = "n/a (too few examples)" if trained.cv_accuracy is None else \
        f"{trained.cv_accuracy:.1%} ({trained.config.folds}-fold, stratified)"
    console = Console()
    console.print(f"Trained the router on [bold]{trained.n_examples}[/bold] examples "
                  f"in {trained.train_seconds:.2f} s")
    console.print(f"  cross-validated accuracy: {cv}")
    console.print(f"  calibration temperature: {trained.temperature:.3f}; "
                  f"features: {len(trained.vectorizer.terms)}")
    if trained.embedder is None:
        console.print("  sentence embedding: none (n-grams alone)")
    else:
        tried = ", ".join(f"{c.weight:g} → {c.cv_accuracy:.1%}" for c in trained.candidates)
        console.print(f"  sentence embedding: {trained.embedder}, weight {trained.embedding_weight:g} "
                      f"picked by CV (weight → accuracy: {tried})")
    console.print(f"  saved to {trainer.model_dir}")
    if container.settings().backends["classifier"] != "ngram":
        console.print("  note: chat routes with backends.classifier = "
                      f"{container.settings().backends['classifier']}, not this model")


def _prediction_dict(text: str, decision: IntentPrediction, threshold: float) -> dict[str, Any]:
    return {"text": text, "intent": decision.intent.value, "confidence": decision.confidence,
            "fallback": decision.fallback, "top_intent": decision.top_intent.value,
            "threshold": threshold,
            "probabilities": {i.value: decision.probabilities[i] for i in ALL_INTENTS}}


@router.command("predict")
@click.argument("message")
@json_option
@click.pass_obj
@friendly_errors
def router_predict(state: _HasContainer, message: str, as_json: bool) -> None:
    """Route MESSAGE: intent, confidence, fallback and every intent's probability."""
    container = state.container()
    decision = container.use_cases.route_message().execute(message)
    threshold = container.settings().routing.threshold
    console = Console()
    if as_json:
        render.print_json(console, _prediction_dict(message, decision, threshold))
        return
    route = f"{decision.intent.value}" + (
        f" (fallback: top guess {decision.top_intent.value} is below {threshold})"
        if decision.fallback else "")
    console.print(f"intent: [bold]{route}[/bold] · confidence {decision.confidence:.3f}")
    table = Table(title="Probabilities")
    table.add_column("intent")
    table.add_column("p", justify="right")
    for intent in sorted(ALL_INTENTS, key=lambda i: -decision.probabilities[i]):
        table.add_row(intent.value, f"{decision.probabilities[intent]:.3f}")
    console.print(table)


def _scores_table(report: RouterReport) -> Table:
    table = Table(title="Per intent")
    for column in ("intent", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    for s in report.per_intent:
        table.add_row(s.intent.value, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}",
                      str(s.support))
    return table


def _confusion_table(report: RouterReport) -> Table:
    table = Table(title="Confusion (rows: true intent, columns: routed)")
    table.add_column("true")
    for intent in ALL_INTENTS:
        table.add_column(_short(intent), justify="right")
    for r, (intent, row) in enumerate(zip(ALL_INTENTS, report.confusion, strict=True)):
        table.add_row(_short(intent), *((f"[bold]{n}[/bold]" if c == r else str(n)) if n else "·"
                                        for c, n in enumerate(row)))
    return table


@router.command("eval")
@data_option
@json_option
@click.option("--plot", "plot", type=click.Path(path_type=Path, dir_okay=False), default=None,
              metavar="FILE.png", help="Also write the confusion matrix as a PNG.")
@click.pass_obj
@friendly_errors
def router_eval(state: _HasContainer, data: Path, as_json: bool, plot: Path | None) -> None:
    """Accuracy, per-intent P/R/F1, confusion matrix, fallback rate and latency on FILE.jsonl."""
    samples = _read_samples(data)
    report = state.container().use_cases.evaluate_router().execute(samples)
    console = Console()
    if plot is not None:
        from evotr.infrastructure.router.plot import write_confusion_png

        write_confusion_png(report.confusion, [i.value for i in ALL_INTENTS], plot,
                            f"Router on {data.name}: accuracy {report.accuracy:.1%}")
    if as_json:
        render.print_json(console, report.as_dict())
        if plot is not None:
            click.echo(f"wrote {plot}", err=True)
        return
    console.print(f"accuracy [bold]{report.accuracy:.1%}[/bold] on {report.samples} messages "
                  f"(threshold {report.threshold}; a fallback counts as general_chat) · "
                  f"macro F1 {report.macro_f1:.3f}")
    console.print(f"fallback rate {report.fallback_rate:.1%} · latency median "
                  f"{report.latency_median_ms:.3f} ms, p95 {report.latency_p95_ms:.3f} ms")
    console.print(_scores_table(report))
    console.print(_confusion_table(report))
    for miss in report.misrouted[:10]:
        console.print(f"  ✗ {miss.text!r}: expected {miss.expected.value}, routed {miss.routed.value} "
                      f"(top {miss.top_intent.value} {miss.confidence:.2f})", highlight=False)
    if len(report.misrouted) > 10:
        console.print(f"  … and {len(report.misrouted) - 10} more (see --json)")
    if plot is not None:
        console.print(f"wrote {plot}")


@router.command("tune")
@data_option
@json_option
@click.pass_obj
@friendly_errors
def router_tune(state: _HasContainer, data: Path, as_json: bool) -> None:
    """Accuracy and fallback rate per threshold on FILE.jsonl, and the best threshold."""
    samples = _read_samples(data)
    container = state.container()
    report = container.use_cases.tune_threshold().execute(samples)
    console = Console()
    if as_json:
        render.print_json(console, report.as_dict())
        return
    table = Table(title=f"Threshold sweep on {report.samples} messages (fallback counts as general_chat)")
    for column in ("threshold", "accuracy", "fallback rate", ""):
        table.add_column(column, justify="right")
    for point in report.points:
        table.add_row(f"{point.threshold:.2f}", f"{point.accuracy:.1%}", f"{point.fallback_rate:.1%}",
                      "← best" if point is report.best else "")
    console.print(table)
    current = container.settings().routing.threshold
    console.print(f"best threshold: [bold]{report.best.threshold:.2f}[/bold] "
                  f"(accuracy {report.best.accuracy:.1%}, fallback {report.best.fallback_rate:.1%}); "
                  f"current: {current}")
    console.print(f"To use it, set `router.threshold: {report.best.threshold:.2f}` in evotr.yaml "
                  "(this command does not edit the config).")
