"""The schema, as an ordered list of migrations, and the code that applies them once."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from evotr.infrastructure.sqlite.connection import write_transaction
from evotr.infrastructure.sqlite.errors import SchemaTooNewError

# Migration N (1-based) is MIGRATIONS[N - 1]. Append only: never edit a released migration.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE turns (
            id            TEXT PRIMARY KEY CHECK (length(id) = 32 AND id NOT GLOB '*[^0-9a-f]*'),
            session_id    TEXT NOT NULL,
            source        TEXT NOT NULL,
            created_at    TEXT NOT NULL,
            prompt        TEXT NOT NULL,
            reply         TEXT NOT NULL,
            intent        TEXT NOT NULL,
            confidence    REAL NOT NULL,
            fallback      INTEGER NOT NULL CHECK (fallback IN (0, 1)),
            adapter       TEXT NULL,
            timings_json  TEXT NOT NULL DEFAULT '{}'
        )
        """,
        "CREATE INDEX turns_created_at ON turns (created_at)",
        "CREATE INDEX turns_session_created_at ON turns (session_id, created_at)",
        """
        CREATE TABLE feedback (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            turn_id     TEXT NOT NULL REFERENCES turns (id),
            kind        TEXT NOT NULL CHECK (kind IN ('thumbs_up', 'thumbs_down', 'correction')),
            correction  TEXT,
            source      TEXT,
            created_at  TEXT
        )
        """,
        "CREATE INDEX feedback_turn_id ON feedback (turn_id)",
        "CREATE INDEX feedback_kind_created_at ON feedback (kind, created_at)",
        "CREATE INDEX feedback_created_at ON feedback (created_at)",
    ),
    (
        # Faithful turns: the exact messages sent and the sampling used (NULL for older turns,
        # which read back as the prompt alone), and the intent a correction says was meant.
        "ALTER TABLE turns ADD COLUMN messages_json TEXT NULL",
        "ALTER TABLE turns ADD COLUMN sampling_json TEXT NULL",
        "ALTER TABLE feedback ADD COLUMN intent TEXT NULL",
    ),
    (
        # How far an index derived from the feedback (the few-shot exemplars in Chroma) has
        # applied it: a verdict stored by a process that does not index it (`evotr feedback
        # add`) is applied by the next one that does.
        """
        CREATE TABLE sync_marks (
            name      TEXT PRIMARY KEY,
            feedback  INTEGER NOT NULL
        )
        """,
    ),
)

LATEST_VERSION = len(MIGRATIONS)

_CREATE_VERSION_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_version (
        version     INTEGER PRIMARY KEY,
        applied_at  TEXT NOT NULL
    )
"""


def current_version(conn: sqlite3.Connection) -> int:
    """The highest applied migration, 0 for a new database."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(
    conn: sqlite3.Connection, path: Path, migrations: Sequence[Sequence[str]] = MIGRATIONS
) -> list[int]:
    """Apply the missing migrations, each in its own transaction; return the versions applied.

    Another process may be migrating the same file, so the version is re-read after
    ``BEGIN IMMEDIATE`` has taken the write lock and a migration already applied is skipped.
    """
    known = len(migrations)
    found = current_version(conn)
    if found > known:
        raise SchemaTooNewError(path, found, known)
    applied: list[int] = []
    for version in range(found + 1, known + 1):
        with write_transaction(conn):
            conn.execute(_CREATE_VERSION_TABLE)
            now = current_version(conn)
            if now > known:
                raise SchemaTooNewError(path, now, known)
            if now >= version:
                continue
            for statement in migrations[version - 1]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (version, datetime.now(UTC).isoformat()),
            )
            applied.append(version)
    return applied
