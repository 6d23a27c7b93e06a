"""A Workspace that lays out nothing on disk: for tests and fully in-memory setups."""

from __future__ import annotations

from pathlib import Path

from evotr.application.home import HomeFolderError
from evotr.ports.workspace import Workspace


class InMemoryWorkspace(Workspace):
    """Remembers which paths it "created"; the second initialize creates nothing."""

    def __init__(self, root: Path = Path("/memory/home"), *, writable: bool = True) -> None:
        self._root = root
        self._writable = writable
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

    def require_existing(self) -> None:
        """The virtual home exists once initialize has run."""
        if self._root not in self.created:
            raise HomeFolderError("home folder", f"{self._root} does not exist")

    def check_writable(self) -> None:
        """Fail like a read-only disk when built with ``writable=False``."""
        if not self._writable:
            raise HomeFolderError("home folder", f"{self._root} is not writable")
