"""A Workspace that lays out nothing on disk: for tests and fully in-memory setups."""

from __future__ import annotations

from pathlib import Path

from evotr.ports.workspace import Workspace


class InMemoryWorkspace(Workspace):
    """Remembers which paths it "created"; the second initialize creates nothing."""

    def __init__(self, root: Path = Path("/memory/home")) -> None:
        self._root = root
        self.created: set[Path] = set()

    @property
    def root(self) -> Path:
        """The (virtual) home folder."""
        return self._root

    def initialize(self) -> list[Path]:
        """Return the virtual layout the first time, nothing afterwards."""
        layout = [self._root, self._root / "adapters", self._root / "data"]
        new = [p for p in layout if p not in self.created]
        self.created.update(new)
        return new
