"""The FeedbackRepository on one SQLite file, safe for many threads and processes."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evotr.application.errors import DuplicateTurnError, UnknownTurnError
from evotr.domain.adapters import AdapterVersion
from evotr.domain.feedback import Feedback, FeedbackKind, FeedbackStats, to_feedback_kind
from evotr.domain.intents import Intent
from evotr.domain.turns import TurnId, TurnRecord
from evotr.infrastructure.sqlite.connection import open_connection, write_transaction
from evotr.infrastructure.sqlite.errors import SqliteStorageError, storage_error
from evotr.infrastructure.sqlite.migrations import migrate
from evotr.ports.feedback_repository import FeedbackRepository

_TURN_COLUMNS = (
    "id, session_id, source, created_at, prompt, reply, intent, confidence, fallback, adapter, "
    "timings_json"
)
_FEEDBACK_COLUMNS = "turn_id, kind, correction, source, created_at"


def _to_text(moment: datetime) -> str:
    # Always UTC with microseconds: fixed width, so text order is time order for ORDER BY.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _from_text(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _turn_from_row(row: Sequence[Any]) -> TurnRecord:
    (turn_id, session_id, source, created_at, prompt, reply, intent, confidence, fallback,
     adapter, timings_json) = row
    return TurnRecord(
        prompt=prompt,
        reply=reply,
        intent=Intent.parse(intent),
        confidence=float(confidence),
        fallback=bool(fallback),
        adapter=None if adapter is None else AdapterVersion.parse(adapter),
        session_id=session_id,
        source=source,
        timings_ms=json.loads(timings_json),
        id=turn_id,
        created_at=_from_text(created_at),
    )


def _feedback_from_row(row: Sequence[Any]) -> Feedback:
    turn_id, kind, correction, source, created_at = row
    return Feedback(TurnId(turn_id), FeedbackKind.parse(kind), correction, source, _from_text(created_at))


class SqliteFeedbackRepository(FeedbackRepository):
    """Turns and feedback in ``path``; the file is opened on first use, never on construction.

    One connection per instance, guarded by a lock so a web server's threads can share it;
    other processes may write the same file at the same time (WAL, ``BEGIN IMMEDIATE``).
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def _connection(self) -> sqlite3.Connection:
        # Callers hold self._lock.
        if self._conn is None:
            conn = open_connection(self._path)
            try:
                migrate(conn, self._path)
            except sqlite3.Error as exc:
                conn.close()
                raise SqliteStorageError(self._path, f"cannot migrate the database: {exc}") from exc
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    @contextmanager
    def _using(self, action: str) -> Iterator[None]:
        """Hold the lock; any SQLite failure becomes one SqliteStorageError line with advice."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                raise storage_error(self._path, action, exc) from exc

    def check_writable(self) -> None:
        """Take and release the write lock and read the turns table, writing nothing.

        Called before a message is answered, so an answer that could not be stored (read-only or
        damaged database) is never generated.
        """
        with self._using("write to the database"):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("SELECT id FROM turns LIMIT 1").fetchall()
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def initialize(self) -> None:
        """Create the parent folder and the file if needed and apply missing migrations."""
        with self._using("open the database"):
            self._connection()

    def close(self) -> None:
        """Close the connection; the next call opens it again."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def add_turn(self, turn: TurnRecord) -> TurnId:
        """Store a turn in its own transaction; a second turn with the same id is refused."""
        values = (
            turn.id, turn.session_id, turn.source, _to_text(turn.created_at), turn.prompt,
            turn.reply, turn.intent.value, turn.confidence, int(turn.fallback),
            None if turn.adapter is None else turn.adapter.name,
            json.dumps(dict(turn.timings_ms), ensure_ascii=False, sort_keys=True),
        )
        with self._using("store the turn"):
            conn = self._connection()
            try:
                with write_transaction(conn):
                    conn.execute(f"INSERT INTO turns ({_TURN_COLUMNS}) VALUES ({_marks(11)})", values)
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc):
                    raise DuplicateTurnError(turn.id) from exc
                raise
        return turn.id

    def get_turn(self, turn_id: TurnId) -> TurnRecord | None:
        """The stored turn, or None."""
        with self._using("read the turn"):
            row = self._connection().execute(
                f"SELECT {_TURN_COLUMNS} FROM turns WHERE id = ?", (turn_id,)
            ).fetchone()
        return None if row is None else _turn_from_row(row)

    def recent_turns(self, limit: int = 20, session_id: str | None = None) -> list[TurnRecord]:
        """Up to ``limit`` turns, newest first; only ``session_id``'s when given."""
        if limit < 1:
            return []
        where, params = "", []
        if session_id is not None:
            where, params = "WHERE session_id = ?", [session_id]
        with self._using("read recent turns"):
            rows = self._connection().execute(
                f"SELECT {_TURN_COLUMNS} FROM turns {where} "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [_turn_from_row(row) for row in rows]

    def add_feedback(self, feedback: Feedback) -> int:
        """Store feedback on a stored turn and return its row id; unknown turns are refused."""
        values = (
            feedback.turn_id, feedback.kind.value, feedback.correction, feedback.source,
            _to_text(feedback.created_at),
        )
        with self._using("store the feedback"):
            conn = self._connection()
            try:
                with write_transaction(conn):
                    known = conn.execute(
                        "SELECT 1 FROM turns WHERE id = ?", (feedback.turn_id,)
                    ).fetchone()
                    if known is None:
                        raise UnknownTurnError(feedback.turn_id)
                    cursor = conn.execute(
                        f"INSERT INTO feedback ({_FEEDBACK_COLUMNS}) VALUES ({_marks(5)})", values
                    )
            except sqlite3.IntegrityError as exc:
                # The foreign key is the backstop should the check above ever be bypassed.
                if "FOREIGN KEY" in str(exc):
                    raise UnknownTurnError(feedback.turn_id) from exc
                raise
        row_id = cursor.lastrowid
        assert row_id is not None
        return row_id

    def list_feedback(self, kind: FeedbackKind | None = None) -> Sequence[Feedback]:
        """Stored feedback, oldest first (ties in insertion order), optionally of one kind."""
        where, params = "", []
        if kind is not None:
            where, params = "WHERE kind = ?", [to_feedback_kind(kind).value]
        with self._using("read feedback"):
            rows = self._connection().execute(
                f"SELECT {_FEEDBACK_COLUMNS} FROM feedback {where} ORDER BY created_at, id", params
            ).fetchall()
        return [_feedback_from_row(row) for row in rows]

    def stats(self) -> FeedbackStats:
        """Counts by kind, in one query."""
        with self._using("count feedback"):
            rows = self._connection().execute(
                "SELECT kind, COUNT(*) FROM feedback GROUP BY kind"
            ).fetchall()
        counts = {str(kind): int(count) for kind, count in rows}
        return FeedbackStats(
            thumbs_up=counts.get(FeedbackKind.THUMBS_UP.value, 0),
            thumbs_down=counts.get(FeedbackKind.THUMBS_DOWN.value, 0),
            corrections=counts.get(FeedbackKind.CORRECTION.value, 0),
        )


def _marks(count: int) -> str:
    return ", ".join("?" * count)
