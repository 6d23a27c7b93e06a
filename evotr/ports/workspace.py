"""The user's home folder: config, database, memory store, adapters and data."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Workspace(Protocol):
    """Creates the home folder layout."""

    @property
    def root(self) -> Path:
        """The home folder."""
        ...

    def initialize(self) -> list[Path]:
        """Create what is missing and return the paths created (nothing is overwritten)."""
        ...
