"""The last value parsed from a file, kept while the file's stat is unchanged.

Why: a chat turn reads the adapter registry every message (a promotion by another process takes
effect at once), and reading and parsing registry.json took ~0.25 ms against ~5 µs for a stat.
Writers replace such files by rename, so a new version is a new inode (a hand edit: a new mtime or
size). Callers stat before reading: a replacement between the two is read now and again next time,
never missed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
StatKey = tuple[int, ...]


def stat_key(path: Path) -> StatKey:
    """What identifies this version of ``path`` (OSError as ``Path.stat`` raises it)."""
    stat = path.stat()
    return (stat.st_ino, stat.st_dev, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


class StatCache(Generic[T]):
    """One file's last parsed value and the :func:`stat_key` it was read under."""

    def __init__(self) -> None:
        self._entry: tuple[StatKey, T] | None = None

    def get(self, key: StatKey) -> T | None:
        """The value read under ``key``, or None if the file changed (or was never read)."""
        entry = self._entry
        return entry[1] if entry is not None and entry[0] == key else None

    def put(self, key: StatKey, value: T) -> None:
        """Keep ``value``, parsed from the file as it was under ``key``."""
        self._entry = (key, value)
