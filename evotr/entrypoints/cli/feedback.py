"""`evotr feedback ...`: verdicts on stored answers from the shell, and the stats that gate training.

`evotr ask --json` prints a ``turn_id``; `evotr feedback add TURN_ID good|bad|correct` judges that
answer with the same rules as `/good`, `/bad` and `/correct` in the chat REPL and
``Assistant.feedback()`` in the library (one SQLite database for every entrypoint).
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from evotr.domain.errors import EvoTrError
from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.errors import friendly_errors
from evotr.entrypoints.cli.stdin import read_stdin_text

# The words a user types, and the stored kinds (which the library API also accepts).
VERDICTS = {"good": "thumbs_up", "bad": "thumbs_down", "correct": "correction",
            "thumbs_up": "thumbs_up", "thumbs_down": "thumbs_down", "correction": "correction"}
_SHOWN = {"thumbs_up": "👍", "thumbs_down": "👎", "correction": "✏️ "}


@click.group()
def feedback() -> None:
    """Feedback on answers: 👍, 👎 and corrections."""


@feedback.command("add")
@click.argument("turn_id")
@click.argument("verdict", type=click.Choice(list(VERDICTS), case_sensitive=False))
@click.argument("source", required=False, metavar="[-]")
@click.option("--text", "text", default=None, metavar="T", help="The corrected answer (for `correct`).")
@click.option("--intent", "intent", default=None, metavar="X",
              help="With `correct`: the intent the message was meant for (the router learns it).")
@click.option("--json", "as_json", is_flag=True, help="Print the stored feedback as JSON.")
@click.pass_obj
@friendly_errors
def feedback_add(state: Any, turn_id: str, verdict: str, source: str | None, text: str | None,
                 intent: str | None, as_json: bool) -> None:
    """Judge the stored answer TURN_ID (from `evotr ask --json`): good, bad or correct.

    A correction's text comes from --text T, or from standard input with `-`. A later verdict on
    the same turn replaces the earlier one (both are kept: `evotr feedback show TURN_ID`).
    """
    kind = VERDICTS[verdict.lower()]
    if intent is not None and kind != "correction":
        raise EvoTrError(f"--intent goes with `correct` (the answer was for another intent), not {kind}")
    correction = _correction_text(kind, source, text)
    # index=False: the next process that answers makes it a few-shot exemplar (exemplar_sync.py);
    # this one-shot command need not load the embedder and the vector store for it.
    feedback_id = state.container().use_cases.record_feedback().execute(
        turn_id, kind, correction, "cli", intent, index=False)
    started = state.container().use_cases.auto_train().after_feedback(turn_id)  # feedback.auto_train
    if as_json:
        render.print_json(Console(), {"feedback_id": feedback_id, "turn_id": turn_id, "kind": kind,
                                      "intent": intent,
                                      "auto_train_started": None if started is None else started.family})
    else:
        click.echo(f"{_SHOWN[kind]} {kind} kaydedildi / recorded on turn {turn_id}")
        if started is not None:
            click.echo(render.training_started(started))
        if intent is not None:
            click.echo(f"router: this message is now a learned {intent} example; the router retrains "
                       "on it at its next start (or now: evotr router train)")


def _correction_text(kind: str, source: str | None, text: str | None) -> str | None:
    if source is not None and source != "-":
        raise EvoTrError(f"unexpected argument {source!r}: give a correction with --text T, or `-` "
                         "to read it from standard input")
    if source == "-" and text is not None:
        raise EvoTrError("give the correction once: --text T or `-` (standard input), not both")
    if kind != "correction":
        if source is not None or text is not None:
            raise EvoTrError(f"only `correct` carries text; {kind} takes no --text or `-`")
        return None
    if source == "-":
        text = read_stdin_text().strip()
    if not text or not text.strip():
        raise EvoTrError("`correct` needs the corrected answer: --text T, or `-` to read standard input")
    return text


@feedback.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@friendly_errors
def feedback_stats(state: Any, as_json: bool) -> None:
    """Totals, corrections, 👎, 👍 and how many corrections training still needs."""
    report = state.container().use_cases.feedback_stats().execute()
    training = state.container().use_cases.auto_train().state()
    console = Console()
    if as_json:
        render.print_json(console, {**report.as_dict(), "auto_train": training.as_dict()})
        return
    console.print(render.feedback_table(report))
    console.print(("✅ " if report.gate.ready else "⚠ ") + report.gate.describe())
    console.print(training.describe(), markup=False)
