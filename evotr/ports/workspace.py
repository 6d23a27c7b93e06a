"""The user's home folder: config, database, memory store, adapters and data."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Workspace(Protocol):
    """Creates the home folder layout and says whether the home can be used."""

    @property
    def root(self) -> Path:
        """The home folder."""
        ...

    def initialize(self) -> list[Path]:
        """Create what is missing and return the paths created (nothing is overwritten).

        Raises HomeFolderError (evotr.application.home) when a file is where the home should be.
        """
        ...

    def require_existing(self) -> None:
        """Raise HomeFolderError unless the home already exists (for commands that only read it)."""
        ...

    def check_writable(self) -> None:
        """Raise HomeFolderError naming the path when what a chat turn writes cannot be written."""
        ...
