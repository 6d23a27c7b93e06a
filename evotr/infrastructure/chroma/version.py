"""Notices that another process committed to an embedded Chroma folder, for a few microseconds a check.

Why: the record cache (record_cache.py) keeps what this process read, and Chroma's embedded
client keeps its vector index in memory. `evotr memory forget ID` or a second `evotr chat` in
another terminal writes the same folder; measured with Chroma 1.5 (process A queries, process B
deletes, A queries again): A's ``get`` no longer returns the deleted id but A's ``query`` still
does (its in-memory index is never reloaded), with no document; B's adds never show in A's
queries. So a cache that trusts only its own process's writes would keep serving a forgotten
memory.

How: SQLite's ``PRAGMA data_version`` on a read-only connection of our own to Chroma's
``chroma.sqlite3`` changes whenever any other connection commits to the file, Chroma's own
connections in this process included. This process's writes are bracketed (:meth:`writing`):
the version is checked before (a foreign commit before ours is noticed) and taken as seen after;
while one of ours runs, checks from other threads report the epoch unchanged, or the chat turn
that reads while the background writer writes would take our own commit for another process's
and reopen the client (seen in CI: a reopen under a running write). A foreign commit landing
during one of our writes is taken for ours; that window is one write (tens of milliseconds, on
the background writer) and the next foreign commit is noticed again.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

DATABASE = "chroma.sqlite3"


class StoreVersion:
    """An epoch that moves whenever the folder's database was committed to by anything but our writes."""

    def __init__(self, folder: Path) -> None:
        self._path = folder / DATABASE
        self._connection: sqlite3.Connection | None = None
        self._seen: int | None = None
        self._epoch = 0
        self._writes = 0  # our own writes running now (a turn may read while the writer writes)
        self._lock = threading.Lock()

    def epoch(self) -> int:
        """The current epoch: a cache built at another epoch may hold what someone else changed.

        While one of our own writes runs the epoch stays: what moves the version then is taken
        for ours (the record cache guards its own writes itself, record_cache.py).
        """
        with self._lock:
            if self._writes:
                return self._epoch
            version = self._read()
            if version != self._seen:
                self._seen = version
                self._epoch += 1
            return self._epoch

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Around a write of this process: what it commits is not taken for another process's."""
        self.epoch()
        with self._lock:
            self._writes += 1
        try:
            yield
        finally:
            with self._lock:
                self._writes -= 1
                self._seen = self._read()

    def _read(self) -> int | None:
        if self._connection is None:
            if not self._path.exists():
                return None  # Chroma has not created it yet: nothing can be cached from it either
            # check_same_thread=False: turns and the background writer share it, under the lock.
            # Autocommit (isolation_level=None): data_version only moves between transactions.
            self._connection = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True,
                                               check_same_thread=False, isolation_level=None)
        row = self._connection.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the read-only connection (reopened on the next check)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
                self._seen = None
