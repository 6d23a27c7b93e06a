"""`evotr adapters history [FAMILY]`: every promotion decision, promotion and rollback, oldest first."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.errors import friendly_errors


@click.command("history")
@click.argument("family", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON.")
@click.pass_obj
@friendly_errors
def adapters_history(state: Any, family: str | None, as_json: bool) -> None:
    """`feedback train` decisions (with their numbers), promotions and rollbacks (adapters/history.jsonl)."""
    events = state.container().learning.adapter_history().execute(family)
    console = Console()
    if as_json:
        render.print_json(console, [e.as_dict() for e in events])
        return
    if not events:
        click.echo("no history yet" + (f" for {family}" if family else "")
                   + ": `evotr feedback train`, `adapters promote` and `adapters rollback` write it")
        return
    table = Table(title="Adapter history" + (f": {family}" if family else ""))
    for column in ("when", "family", "event", "version", "active before → after", "why"):
        table.add_column(column, overflow="fold")
    for event in events:
        d = event.details
        if event.event == "feedback_train":
            version = f"{d.get('candidate')} ({d.get('decision')})"
            moved = f"{d.get('active_before') or 'base'} → {d.get('active_after') or 'base'}"
            reasons = d.get("reasons")
            why = "\n".join(str(r) for r in reasons) if isinstance(reasons, list) else ""
        else:
            version = str(d.get("to") or "base")
            moved = f"{d.get('from') or 'base'} → {d.get('to') or 'base'}"
            why = str(d.get("reason", ""))
        table.add_row(event.when.astimezone().isoformat(timespec="seconds"), event.family.name,
                      event.event, version, moved, render.terminal_safe(why))
    console.print(table)
