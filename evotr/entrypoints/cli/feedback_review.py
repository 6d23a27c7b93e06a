"""`evotr feedback list|show|export`: review verdicts and turn them into training files.

`list` shows each judged turn once, by its latest verdict; `show` one turn with the messages it
was sent and every verdict with its time; `export` writes SFT, DPO or KTO JSON Lines.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from evotr.application.feedback_review import JudgedTurn
from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.errors import friendly_errors

_KINDS = {"good": "thumbs_up", "bad": "thumbs_down", "correct": "correction",
          "thumbs_up": "thumbs_up", "thumbs_down": "thumbs_down", "correction": "correction"}
_SHOWN = {"thumbs_up": "👍", "thumbs_down": "👎", "correction": "✏️"}
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def _clip(text: str | None, width: int = 48) -> str:
    if text is None:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@click.command("list")
@click.option("--kind", type=click.Choice(list(_KINDS), case_sensitive=False), default=None,
              help="Only turns whose current verdict is this one.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="Only verdicts given on or after this day (UTC).")
@click.option("--family", default=None, metavar="F", help="Only answers for intents family F serves.")
@json_option
@click.pass_obj
@friendly_errors
def feedback_list(state: Any, kind: str | None, since: datetime | None, family: str | None,
                  as_json: bool) -> None:
    """Judged turns by their latest verdict (a later verdict replaces an earlier one)."""
    day: date | None = None if since is None else since.date()
    entries = state.container().use_cases.list_feedback().execute(
        None if kind is None else _KINDS[kind.lower()], day, family)
    console = Console(highlight=False)
    if as_json:
        render.print_json(console, [e.as_dict() for e in entries])
        return
    if not entries:
        console.print("no feedback matches (evotr feedback add TURN_ID good|bad|correct)")
        return
    # One line per turn, the full id first: it is what `feedback show` and `feedback add` take.
    console.print(f"{len(entries)} judged turns, by their latest verdict:")
    for entry in entries:
        verdict = entry.verdict
        assert verdict is not None  # listed turns are judged ones
        again = f" ({len(entry.history)} verdicts)" if len(entry.history) > 1 else ""
        line = (f"{entry.turn.id}  {_SHOWN[verdict.kind.value]} {verdict.created_at:%Y-%m-%d %H:%M}  "
                f"{entry.intent.value} → {entry.family}  {_clip(entry.turn.prompt)!r}")
        if verdict.correction is not None:
            line += f" ✎ {_clip(verdict.correction)!r}"
        console.print(escape(line + again), soft_wrap=True)


@click.command("show")
@click.argument("turn_id")
@json_option
@click.pass_obj
@friendly_errors
def feedback_show(state: Any, turn_id: str, as_json: bool) -> None:
    """TURN_ID: the messages it was sent, the reply, and every verdict with its time."""
    entry: JudgedTurn = state.container().use_cases.show_feedback().execute(turn_id)
    console = Console(highlight=False, soft_wrap=True)
    if as_json:
        render.print_json(console, entry.as_dict(full=True))
        return
    turn = entry.turn
    route = f"{turn.intent.value} {turn.confidence:.0%}" + (" (fallback)" if turn.fallback else "")
    console.print(f"turn {turn.id} · {turn.created_at:%Y-%m-%d %H:%M:%S} UTC · {turn.source} · "
                  f"session {turn.session_id}")
    console.print(f"routed: {route} · adapter {turn.adapter or 'base model'}"
                  + ("" if turn.sampling is None else
                     f" · temperature {turn.sampling.temperature}, top_p {turn.sampling.top_p}, "
                     f"max_tokens {turn.sampling.max_tokens}, seed {turn.sampling.seed}"))
    if not turn.messages:
        console.print("[dim](stored before messages were recorded: the prompt alone)[/dim]")
    for message in turn.sent_messages:
        console.print(f"[bold]{message.role.value}:[/bold] {escape(message.content)}")
    console.print(f"[bold]reply:[/bold] {escape(turn.reply)}")
    if not entry.history:
        console.print("no verdict yet")
    for n, verdict in enumerate(entry.history):
        current = "  ← current" if n == len(entry.history) - 1 else ""
        line = f"{verdict.created_at:%Y-%m-%d %H:%M:%S} {_SHOWN[verdict.kind.value]} {verdict.kind.value}"
        if verdict.intent is not None:
            line += f" (intent: {verdict.intent.value})"
        if verdict.correction is not None:
            line += f": {escape(verdict.correction)}"
        console.print(line + current)


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["sft", "dpo", "kto"]), required=True,
              help="sft: corrections (mlx-lm chat); dpo: correction ≻ reply; kto: 👍/👎/corrections.")
@click.option("--out", type=click.Path(path_type=Path), required=True, metavar="FILE",
              help="The JSON Lines file to write (replaced atomically).")
@click.option("--family", default=None, metavar="F", help="Only answers for intents family F serves.")
@json_option
@click.pass_obj
@friendly_errors
def feedback_export(state: Any, fmt: str, out: Path, family: str | None, as_json: bool) -> None:
    """Write the judged turns as SFT, DPO or KTO training rows (TRL's conversational shapes)."""
    report = state.container().use_cases.export_feedback().execute(fmt, out, family)
    if as_json:
        render.print_json(Console(), report.as_dict())
        return
    click.echo(f"wrote {report.rows} {fmt} rows from {report.turns} of {report.considered} judged turns "
               f"to {report.path}")
