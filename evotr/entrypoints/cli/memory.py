"""`evotr memory list|search|show|forget|clear|export`: long-term memory under the user's control."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from evotr.application.memory import MemoryView
from evotr.domain.errors import EvoTrError
from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.errors import friendly_errors

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


def _line(view: MemoryView) -> str:
    flat = " ".join(view.text.split())
    text = flat if len(flat) <= 90 else flat[:89] + "…"
    extra = "" if view.status == "active" else f" ({view.status})"
    score = "" if view.score is None else f" {view.score:.2f}"
    return f"{view.id}  {view.kind:8}{score} recalled {view.recall_count}×  {text}{extra}"


def _use_cases(state: Any) -> Any:
    return state.container().memory


@click.group()
def memory() -> None:
    """Long-term memory: facts about you and past exchanges recalled into chat."""


@memory.command("list")
@click.option("--kind", type=click.Choice(["fact", "exchange"]), default=None, help="Only this kind.")
@click.option("--all", "include_history", is_flag=True, help="Include superseded (history) facts.")
@json_option
@click.pass_obj
@friendly_errors
def memory_list(state: Any, kind: str | None, include_history: bool, as_json: bool) -> None:
    """Stored memories: facts first, newest first."""
    views = _use_cases(state).list_memories().execute(kind, include_history)
    console = Console(highlight=False)
    if as_json:
        render.print_json(console, [v.as_dict() for v in views])
        return
    if not views:
        console.print("no memories yet (chat with evotr; facts like \"Benim adım Kaan\" are remembered)")
        return
    for view in views:
        console.print(_line(view), markup=False, soft_wrap=True)


@memory.command("search")
@click.argument("query")
@click.option("-k", "--top", "k", type=click.IntRange(1, 100), default=10, show_default=True,
              help="How many to show.")
@json_option
@click.pass_obj
@friendly_errors
def memory_search(state: Any, query: str, k: int, as_json: bool) -> None:
    """Memories most similar to QUERY (as chat recall ranks them), with their similarity."""
    views = _use_cases(state).search_memories().execute(query, k)
    console = Console(highlight=False)
    if as_json:
        render.print_json(console, [v.as_dict() for v in views])
    elif not views:
        console.print("no memories yet")
    for view in [] if as_json else views:
        console.print(_line(view), markup=False, soft_wrap=True)


@memory.command("show")
@click.argument("memory_id", metavar="ID")
@json_option
@click.pass_obj
@friendly_errors
def memory_show(state: Any, memory_id: str, as_json: bool) -> None:
    """One memory with its history: the older values it superseded."""
    view, history = _use_cases(state).show_memory().execute(memory_id)
    console = Console(highlight=False)
    if as_json:
        render.print_json(console, {**view.as_dict(), "history": [h.as_dict() for h in history]})
        return
    lines = [f"id: {view.id}", f"kind: {view.kind}", f"status: {view.status}", f"text: {view.text}",
             f"said: {view.said}" if view.said else "", f"session: {view.session}",
             f"stored: {_when(view.time)}", f"stated: {view.stated}×",
             f"recalled: {view.recall_count}× (last {_when(view.last_recalled)})",
             f"superseded by: {view.superseded_by}" if view.superseded_by else ""]
    for line in filter(None, lines):
        console.print(line, markup=False, soft_wrap=True)
    if history:
        console.print("history (older values it replaced, newest first):")
        for old in history:
            console.print(f"  {old.id}  {_when(old.time)}  {old.text}", markup=False, soft_wrap=True)


@memory.command("forget")
@click.argument("memory_id", metavar="ID")
@click.pass_obj
@friendly_errors
def memory_forget(state: Any, memory_id: str) -> None:
    """Delete memory ID (and the older values it replaced); it is never recalled again."""
    deleted = _use_cases(state).forget_memory().execute(memory_id)
    older = f" and {len(deleted) - 1} older value(s)" if len(deleted) > 1 else ""
    click.echo(f"forgot {deleted[0]}{older}")


@memory.command("clear")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
@friendly_errors
def memory_clear(state: Any, yes: bool) -> None:
    """Delete every long-term memory (feedback, turns and adapters stay)."""
    if not yes:
        if not sys.stdin.isatty():
            raise EvoTrError("memory clear deletes every memory: add --yes to confirm (no terminal to ask)")
        click.confirm("Delete every long-term memory?", abort=True)
    count = _use_cases(state).clear_memories().execute()
    click.echo(f"deleted {count} memories")


@memory.command("export")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
@friendly_errors
def memory_export(state: Any, file: Path) -> None:
    """Write every memory (history included, no vectors) to FILE as JSON Lines."""
    count = _use_cases(state).export_memories().execute(file)
    click.echo(f"wrote {count} memories to {file}")
