"""``<home>/adapters/history.jsonl``: one JSON line per promotion decision, promotion or rollback.

Appends are atomic with respect to other writers (an exclusive ``flock`` around one
``O_APPEND`` write) and durable (fsync) before ``append`` returns. A torn last line (a crash
mid-write, a disk full) is reported when read, naming the file and line, never silently skipped.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from pathlib import Path

from evotr.domain.adapter_history import HistoryEvent
from evotr.domain.adapters import AdapterFamily
from evotr.domain.errors import EvoTrError
from evotr.infrastructure.filesystem.atomic import fsync_dir
from evotr.infrastructure.filesystem.errors import AdapterStoreError, AdapterStoreWriteError
from evotr.ports.adapter_history import AdapterHistory

HISTORY_FILE = "history.jsonl"


class JsonlAdapterHistory(AdapterHistory):
    """The history log beside registry.json; nothing is created until the first event."""

    def __init__(self, root: Path) -> None:
        self._file = Path(root) / HISTORY_FILE

    @property
    def file(self) -> Path:
        """``<adapters>/history.jsonl``."""
        return self._file

    def append(self, event: HistoryEvent) -> None:
        """Write one line under an exclusive lock and fsync it."""
        line = (json.dumps(event.as_dict(), ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            created = not self._file.exists()
            fd = os.open(self._file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                written = 0
                while written < len(line):  # one write in practice; a short write is finished
                    written += os.write(fd, line[written:])
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                fsync_dir(self._file.parent)
        except OSError as exc:
            raise AdapterStoreWriteError(self._file, exc) from exc

    def events(self, family: AdapterFamily | None = None) -> Sequence[HistoryEvent]:
        """Every event, oldest first; a malformed line raises an AdapterStoreError naming file:line."""
        try:
            text = self._file.read_text("utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise AdapterStoreError(self._file, f"cannot be read: {exc}") from exc
        found = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                document = json.loads(line)
                if not isinstance(document, dict):
                    raise ValueError("not a JSON object")
                event = HistoryEvent.from_dict(document)
            except (ValueError, EvoTrError) as exc:
                raise AdapterStoreError(Path(f"{self._file}:{number}"),
                                        f"not a history event ({exc}); fix or delete that line") from exc
            if family is None or event.family == family:
                found.append(event)
        return found
