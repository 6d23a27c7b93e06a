"""Exported training rows as JSON Lines, written atomically (temp file + fsync + rename)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from evotr.domain.errors import EvoTrError
from evotr.infrastructure.filesystem.atomic import atomic_write_bytes
from evotr.ports.rows_writer import RowsWriter


class ExportWriteError(EvoTrError):
    """An export file could not be written; any earlier file at that path is unchanged."""


class AtomicJsonlWriter(RowsWriter):
    """One JSON object per line, non-ASCII kept as is; a reader never sees half a file."""

    def write_jsonl(self, path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
        """Replace ``path`` with ``rows``; the parent folder must exist (a typo is not created)."""
        lines = [json.dumps(row, ensure_ascii=False) for row in rows]
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        if path.is_dir():
            raise ExportWriteError(f"{path}: is a folder; give a file name such as {path / 'train.jsonl'}")
        if not path.parent.is_dir():
            raise ExportWriteError(f"{path}: the folder {path.parent} does not exist")
        try:
            atomic_write_bytes(path, data)
        except OSError as error:
            raise ExportWriteError(f"{path}: cannot write the export ({error.strerror or error})") from None
        return len(lines)
