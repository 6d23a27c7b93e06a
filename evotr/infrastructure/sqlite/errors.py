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
