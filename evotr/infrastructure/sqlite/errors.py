"""Errors of the SQLite backend; each names the database file."""

from __future__ import annotations

from pathlib import Path

from evotr.domain.errors import EvoTrError


class SqliteStorageError(EvoTrError):
    """The database file could not be opened or used; ``path`` names it."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class NotASqliteDatabaseError(SqliteStorageError):
    """The file exists but is not a SQLite database; it is left untouched."""


class SchemaTooNewError(SqliteStorageError):
    """The database was written by a newer EVO-TR whose schema this code does not know."""

    def __init__(self, path: Path, found: int, known: int) -> None:
        super().__init__(
            path,
            f"database schema version {found} is newer than this EVO-TR knows (version {known}); "
            "upgrade evotr or point EVOTR_HOME at another folder",
        )
        self.found = found
        self.known = known


def storage_error(path: Path, action: str, exc: BaseException) -> SqliteStorageError:
    """One actionable line for a SQLite failure while ``action`` (e.g. "store the turn").

    Read-only files, damaged files, a full disk and long locks each need a different fix, so the
    SQLite result code picks the advice; the original message is kept for the curious.
    """
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    detail = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    if code == _READONLY or "readonly" in detail or "read-only" in detail:
        advice = (f"the database is read-only; make {path} and its folder writable by you, "
                  "or use another home (--home / EVOTR_HOME)")
    elif code in (_CORRUPT, _NOTADB) or "malformed" in detail or "not a database" in detail:
        advice = (f"the database is damaged; move {path} away (adapters and configs are not affected) "
                  "and run `evotr init` to start a new one, or restore a backup")
    elif code == _FULL:
        advice = "the disk is full; free some space and try again (nothing was written)"
    elif code in (_BUSY, _LOCKED):
        advice = "another process has held the database locked for too long; try again"
    elif code in (_CANTOPEN, _IOERR):
        advice = f"check that {path.parent} exists and is readable and writable by you"
    else:
        advice = "check the file (or move it away and run `evotr init`)"
    return SqliteStorageError(path, f"cannot {action}: {detail}; {advice}")


# SQLite primary result codes (the low byte of sqlite_errorcode), from sqlite3.h.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26
