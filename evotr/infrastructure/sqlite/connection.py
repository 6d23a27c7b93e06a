"""Opening a database file safely and running one write transaction at a time."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evotr.infrastructure.sqlite.errors import NotASqliteDatabaseError, SqliteStorageError

BUSY_TIMEOUT_S = 30.0
PRIVATE_MODE = 0o600  # owner read/write only: the DB holds every conversation
_SQLITE_HEADER = b"SQLite format 3\x00"


def check_database_file(path: Path) -> None:
    """Refuse a path that is a folder or a non-empty file without the SQLite header.

    Checked before SQLite touches the file, so a wrong path never gets a -wal/-shm beside it.
    """
    if path.is_dir():
        raise SqliteStorageError(path, "is a folder, not a database file")
    if not path.exists():
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise SqliteStorageError(path, f"cannot read the database file: {exc}") from exc
    # SQLite treats an empty file as a new database, so only a wrong header is refused.
    if header and header != _SQLITE_HEADER:
        raise NotASqliteDatabaseError(
            path, "is not a SQLite database; it was left untouched (move it away or choose another path)"
        )


def open_connection(path: Path) -> sqlite3.Connection:
    """Open ``path`` in WAL mode with foreign keys on and explicit transactions only."""
    check_database_file(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        make_private(path)
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
    except (OSError, sqlite3.Error) as exc:
        raise SqliteStorageError(path, f"cannot open the database: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        mode = switch_to_wal(conn)
        if mode.lower() != "wal":
            raise SqliteStorageError(path, f"could not switch to WAL journal mode (got {mode!r})")
        # In WAL mode NORMAL only risks the last commits on power loss, never corruption.
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.OperationalError as exc:
        conn.close()
        raise SqliteStorageError(path, f"cannot set up the database: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        # A valid header over a corrupt body ends up here ("file is not a database").
        conn.close()
        raise NotASqliteDatabaseError(path, f"is not a usable SQLite database: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def make_private(path: Path) -> None:
    """Create the database file owner-only (0600) and tighten an existing one and its WAL files.

    The conversations are the most private data EVO-TR keeps. SQLite creates ``-wal``/``-shm``
    with the database file's own mode, so a 0600 database keeps them 0600 too. A file owned by
    someone else cannot be chmod-ed; it is left as it is (opening it reports any real problem).
    """
    if not path.exists():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_MODE))
        except OSError:
            return  # sqlite3.connect below reports why the file cannot be made
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = file.stat().st_mode & 0o777
            if mode & ~PRIVATE_MODE:
                file.chmod(mode & PRIVATE_MODE)
        except OSError:
            continue  # missing WAL file, or not ours to change


def switch_to_wal(conn: sqlite3.Connection) -> str:
    """``PRAGMA journal_mode = WAL``, waiting up to BUSY_TIMEOUT_S while another connection holds the
    file; returns the journal mode SQLite reports."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            # Two connections switching a new file at once: SQLite answers "locked" at once
            # instead of calling the busy handler, so the wait happens here.
            busy = (exc.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; any error rolls the whole transaction back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
