"""Writes exported rows (training data) to a file, all or nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class RowsWriter(Protocol):
    """JSON Lines output that readers see complete or not at all."""

    def write_jsonl(self, path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
        """Replace ``path`` with one JSON object per line (UTF-8); return the number of rows.

        A failure leaves any previous file untouched and raises an EvoTrError naming ``path``.
        """
        ...
