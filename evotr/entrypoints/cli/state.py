"""What every CLI command shares: the container, built on first use for the home it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

# Commands that only read (or rearrange) what a home already holds. On a mistyped --home they
# must say the home does not exist rather than create an empty one and report zeros; every
# other command (init, chat, ask, demo, training, data generate, router train) may create it.
NEEDS_EXISTING_HOME = frozenset({
    "feedback stats", "feedback add", "feedback list", "feedback show", "feedback export",
    "adapters list", "adapters check", "adapters promote", "adapters rollback", "adapters rebuild-registry",
    "adapters show", "adapters compare", "adapters history", "feedback train",
    "adapters export",
    "router predict", "router eval", "router tune", "data stats", "data prepare", "model list", "train",
    "memory list", "memory search", "memory show", "memory forget", "memory clear", "memory export",
})


class CommandState:
    """Lazily built container: `evotr --help` reads no config and loads nothing."""

    def __init__(self, config: Path | None, home: Path | None, model: str | None = None) -> None:
        self.config = config
        self.home = home
        self.model = model
        self._container: Any = None

    def container(self, home: Path | None = None) -> Any:
        if self._container is None:
            from evotr.container import build_container

            container = build_container(self.config, home or self.home, model=self.model)
            if command_path() in NEEDS_EXISTING_HOME:
                container.storage.workspace().require_existing()
            self._container = container
        return self._container


def command_path() -> str:
    """The running subcommand without the program name, e.g. ``feedback stats``."""
    ctx = click.get_current_context(silent=True)
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))
