"""The home folder on disk: folders plus editable copies of the configs."""

from __future__ import annotations

import re
from pathlib import Path

from evotr.infrastructure.filesystem.atomic import atomic_write_text
from evotr.ports.workspace import Workspace

SUBFOLDERS = ("adapters", "chroma", "data/generated", "data/training", "models", "logs")
# Other configs that live beside evotr.yaml and get an editable copy in the home too.
SIBLING_CONFIGS = ("generation.yaml",)
_HOME_LINE = re.compile(r"^home:.*$", re.MULTILINE)
_INTENTS_LINE = re.compile(r"^intents_file:.*$", re.MULTILINE)


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
        created: list[Path] = []
        for folder in (self._root, *(self._root / sub for sub in SUBFOLDERS)):
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
            text = self._config_file.read_text("utf-8")
            # The copy must point at this home and at the intents copy beside it.
            text = _HOME_LINE.sub(f"home: {_quote(str(self._root.resolve()))}", text, count=1)
            text = _INTENTS_LINE.sub("intents_file: intents.yaml", text, count=1)
            atomic_write_text(home_config, text)
            created.append(home_config)
        if self._config_file is not None:
            for name in SIBLING_CONFIGS:
                source, target = self._config_file.parent / name, self._root / name
                if source.is_file() and not target.exists() and source.resolve() != target.resolve():
                    atomic_write_text(target, source.read_text("utf-8"))
                    created.append(target)
        return created


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
