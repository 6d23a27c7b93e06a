"""The one error type of config loading: file, line, dotted key and what is wrong."""

from __future__ import annotations

import re
from pathlib import Path

from evotr.domain.errors import EvoTrError

_NEWLINES = re.compile(r"\s*\n\s*")


class ConfigError(EvoTrError):
    """A config file could not be read or is invalid.

    ``str()`` is always one line: ``<file>:<line>: <key>: <problem>``. ``:<line>`` is left out
    when the line is unknown, and ``<key>: `` when the problem concerns the whole file (missing
    file, bad encoding, YAML syntax).
    """

    def __init__(self, file: Path, line: int | None, key: str, problem: str) -> None:
        self.file = file
        self.line = line
        self.key = key
        # The CLI prints errors as one line, so messages quoted from PyYAML are flattened.
        self.problem = _NEWLINES.sub(" ", problem.strip())
        super().__init__(self._format())

    def _format(self) -> str:
        where = str(self.file) if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.problem}" if self.key else f"{where}: {self.problem}"

    def __str__(self) -> str:
        return self._format()
