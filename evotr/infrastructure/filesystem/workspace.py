"""The home folder on disk: folders plus editable copies of the configs, and its health checks."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import NoReturn

from evotr.application.home import HomeFolderError
from evotr.infrastructure.filesystem.atomic import atomic_write_text
from evotr.ports.workspace import Workspace

SUBFOLDERS = ("adapters", "chroma", "data/generated", "data/training", "models", "logs")
# Other configs that live beside evotr.yaml and get an editable copy in the home too.
SIBLING_CONFIGS = ("generation.yaml",)
# The home holds the conversations: only its owner may list or enter it.
HOME_MODE = 0o700
# What a chat turn writes besides new files in the home itself (SQLite's WAL files included).
TURN_FILES = ("evotr.db", "evotr.db-wal", "evotr.db-shm")
_HOME_LINE = re.compile(r"^home:.*$", re.MULTILINE)
_COMMENTED_HOME_LINE = re.compile(r"^#\s*home:.*$", re.MULTILINE)
_INTENTS_LINE = re.compile(r"^intents_file:.*$", re.MULTILINE)
_FIX = "point it at a folder (`evotr init --home DIR` creates one)"


def check_home_location(home: Path, origin: str) -> None:
    """Raise HomeFolderError when ``home`` is a file or lies under one; nothing is created.

    ``origin`` says where the path came from (``--home``, ``EVOTR_HOME=…``) so the message
    names what to change.
    """
    for path in (home, *home.parents):
        if path.exists():  # the nearest existing folder decides; under a file exists() is False
            if path.is_dir():
                return
            where = "is a file" if path == home else f"is under {path}, which is a file"
            raise HomeFolderError(origin, f"{home} {where}, not a folder; {_FIX}")


class FilesystemWorkspace(Workspace):
    """Creates ``root`` and its layout; copies the configs in once, never overwriting."""

    def __init__(self, root: Path, config_file: Path | None, intents_file: Path | None) -> None:
        self._root = root
        self._config_file = config_file
        self._intents_file = intents_file

    @property
    def root(self) -> Path:
        """The home folder."""
        return self._root

    def initialize(self) -> list[Path]:
        """Create missing folders and config copies; return what was created."""
        check_home_location(self._root, "home folder")
        created: list[Path] = []
        try:
            self._lay_out(created)
        except OSError as err:  # a read-only disk or a folder owned by someone else
            self._not_writable(Path(err.filename or self._root), err.strerror or str(err))
        return created

    def _lay_out(self, created: list[Path]) -> None:
        if not self._root.is_dir():
            self._root.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
            created.append(self._root)
        for folder in (self._root / sub for sub in SUBFOLDERS):
            if not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True)
                created.append(folder)
        home_config = self._root / "evotr.yaml"
        home_intents = self._root / "intents.yaml"
        if self._intents_file is not None and not home_intents.exists():
            atomic_write_text(home_intents, self._intents_file.read_text("utf-8"))
            created.append(home_intents)
        if self._config_file is not None and not home_config.exists() \
                and self._config_file.resolve() != home_config.resolve():
            atomic_write_text(home_config, _home_copy(self._config_file.read_text("utf-8")))
            created.append(home_config)
        if self._config_file is not None:
            for name in SIBLING_CONFIGS:
                source, target = self._config_file.parent / name, self._root / name
                if source.is_file() and not target.exists() and source.resolve() != target.resolve():
                    atomic_write_text(target, source.read_text("utf-8"))
                    created.append(target)

    def require_existing(self) -> None:
        """Raise HomeFolderError unless the home folder exists (a typo must not create one)."""
        check_home_location(self._root, "home folder")
        if not self._root.is_dir():
            raise HomeFolderError(
                "home folder",
                f"{self._root} does not exist; create it with `evotr init --home {self._root}`, "
                "or check --home / EVOTR_HOME for a typo",
            )

    def check_writable(self) -> None:
        """Raise HomeFolderError unless a new file can be made in the home and the DB files written.

        Probed by really creating (and removing) a file, so read-only mounts, ACLs and ownership
        all count; the existing database files are checked with ``os.access``.
        """
        try:
            fd, probe = tempfile.mkstemp(dir=self._root, prefix=".evotr-write-check-")
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            self._not_writable(self._root, err.strerror or str(err))
        for name in TURN_FILES:
            path = self._root / name
            if path.exists() and not os.access(path, os.R_OK | os.W_OK):
                self._not_writable(path, "Permission denied")

    def _not_writable(self, path: Path, reason: str) -> NoReturn:
        raise HomeFolderError(
            "home folder",
            f"{self._root} is not writable ({reason}: {path}); nothing was generated or changed. "
            f"Make it writable (chmod -R u+w {self._root}) "
            "or use another home with --home / EVOTR_HOME",
        )


def _home_copy(text: str) -> str:
    """The home's evotr.yaml: `home: .` (this very folder) and the intents copy beside it."""
    line = "home: .  # this file's folder: the home moves with it"
    if _HOME_LINE.search(text):
        text = _HOME_LINE.sub(line, text, count=1)
    elif _COMMENTED_HOME_LINE.search(text):
        text = _COMMENTED_HOME_LINE.sub(line, text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n{line}\n"
    return _INTENTS_LINE.sub("intents_file: intents.yaml", text, count=1)
