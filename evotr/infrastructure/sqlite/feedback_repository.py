"""The FeedbackRepository on one SQLite file, safe for many threads and processes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from evotr.application.errors import DuplicateTurnError, UnknownTurnError
from evotr.domain.feedback import CACHE_HIT_TIMING, Feedback, FeedbackKind, FeedbackStats, to_feedback_kind
from evotr.domain.judged_turn import judged_example
from evotr.domain.learning import FeedbackExample
from evotr.domain.turns import TurnId, TurnRecord
from evotr.infrastructure.sqlite.connection import open_connection, write_transaction
from evotr.infrastructure.sqlite.errors import SqliteStorageError, storage_error
from evotr.infrastructure.sqlite.migrations import migrate
from evotr.infrastructure.sqlite.rows import (
    FEEDBACK_COLUMNS,
    TURN_COLUMNS,
    feedback_from_row,
    feedback_values,
    turn_from_row,
    turn_values,
)
from evotr.ports.feedback_repository import FeedbackRepository

# Each judged turn's current verdict: its newest feedback row (time, then insertion order).
# The dynamic prompt's cache over every stored turn (a turn without the key is not counted).
_CACHE_COUNTS = (
    f"SELECT COALESCE(SUM(json_extract(timings_json, '$.{CACHE_HIT_TIMING}') = 1), 0), "
    f"COALESCE(SUM(json_extract(timings_json, '$.{CACHE_HIT_TIMING}') = 0), 0) FROM turns"
)
_LATEST = (
    "SELECT f.* FROM feedback f WHERE f.id = (SELECT g.id FROM feedback g WHERE g.turn_id = f.turn_id "
    "ORDER BY g.created_at DESC, g.id DESC LIMIT 1)"
)


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
        values = turn_values(turn)
        with self._using("store the turn"):
            conn = self._connection()
            try:
                with write_transaction(conn):
                    conn.execute(f"INSERT INTO turns ({TURN_COLUMNS}) VALUES ({_marks(len(values))})", values)
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc):
                    raise DuplicateTurnError(turn.id) from exc
                raise
        return turn.id

    def get_turn(self, turn_id: TurnId) -> TurnRecord | None:
        """The stored turn, or None."""
        with self._using("read the turn"):
            row = self._connection().execute(
                f"SELECT {TURN_COLUMNS} FROM turns WHERE id = ?", (turn_id,)
            ).fetchone()
        return None if row is None else turn_from_row(row, self._path)

    def recent_turns(self, limit: int = 20, session_id: str | None = None) -> list[TurnRecord]:
        """Up to ``limit`` turns, newest first; only ``session_id``'s when given."""
        if limit < 1:
            return []
        where, params = "", []
        if session_id is not None:
            where, params = "WHERE session_id = ?", [session_id]
        with self._using("read recent turns"):
            rows = self._connection().execute(
                f"SELECT {TURN_COLUMNS} FROM turns {where} "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [turn_from_row(row, self._path) for row in rows]

    def add_feedback(self, feedback: Feedback) -> int:
        """Store feedback on a stored turn and return its row id; unknown turns are refused."""
        values = feedback_values(feedback)
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
                        f"INSERT INTO feedback ({FEEDBACK_COLUMNS}) VALUES ({_marks(len(values))})", values
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
                f"SELECT {FEEDBACK_COLUMNS} FROM feedback {where} ORDER BY created_at, id", params
            ).fetchall()
        return [feedback_from_row(row) for row in rows]

    def stats(self) -> FeedbackStats:
        """Judged turns by their latest verdict, in one query (a changed verdict counts once)."""
        with self._using("count feedback"):
            rows = self._connection().execute(
                f"SELECT kind, COUNT(*) FROM ({_LATEST}) GROUP BY kind"
            ).fetchall()
            hits, misses = self._connection().execute(_CACHE_COUNTS).fetchone()
        counts = {str(kind): int(count) for kind, count in rows}
        return FeedbackStats(
            thumbs_up=counts.get(FeedbackKind.THUMBS_UP.value, 0),
            thumbs_down=counts.get(FeedbackKind.THUMBS_DOWN.value, 0),
            corrections=counts.get(FeedbackKind.CORRECTION.value, 0),
            cache_hits=int(hits), cache_misses=int(misses),
        )

    def judged_turns(self) -> Sequence[FeedbackExample]:
        """Every judged turn with its latest verdict and the messages it was sent, oldest turn first."""
        found = (judged_example(turn, verdict) for turn, verdict in self._latest_verdicts(
            "read judged turns", "ORDER BY t.created_at, t.rowid"))
        return [example for example in found if example is not None]

    def latest_feedback_id(self) -> int:
        """The newest feedback row's id, 0 when there is none (the primary key's end: cheap)."""
        with self._using("read feedback"):
            row = self._connection().execute("SELECT COALESCE(MAX(id), 0) FROM feedback").fetchone()
        return int(row[0])

    def verdicts_after(self, feedback_id: int) -> Sequence[tuple[TurnRecord, Feedback]]:
        """Each turn with a feedback row after ``feedback_id``, and its latest verdict, oldest row first."""
        return self._latest_verdicts(
            "read feedback", "WHERE f.turn_id IN (SELECT turn_id FROM feedback WHERE id > ?) ORDER BY f.id",
            (feedback_id,))

    def _latest_verdicts(self, action: str, tail: str,
                         params: tuple[object, ...] = ()) -> list[tuple[TurnRecord, Feedback]]:
        """Judged turns with their latest verdict, filtered and ordered by ``tail`` (SQL after the join)."""
        turn_columns = ", ".join(f"t.{c.strip()}" for c in TURN_COLUMNS.split(","))
        feedback_columns = ", ".join(f"f.{c.strip()}" for c in FEEDBACK_COLUMNS.split(","))
        with self._using(action):
            rows = self._connection().execute(
                f"SELECT {turn_columns}, {feedback_columns} FROM ({_LATEST}) f "
                f"JOIN turns t ON t.id = f.turn_id {tail}", params,
            ).fetchall()
        width = len(TURN_COLUMNS.split(","))
        return [(turn_from_row(row[:width], self._path), feedback_from_row(row[width:])) for row in rows]

    def sync_mark(self, name: str) -> int:
        """How far ``name`` has applied the feedback (0 at first)."""
        with self._using("read a sync mark"):
            row = self._connection().execute(
                "SELECT feedback FROM sync_marks WHERE name = ?", (name,)).fetchone()
        return 0 if row is None else int(row[0])

    def advance_sync_mark(self, name: str, feedback_id: int) -> None:
        """Move ``name``'s mark up to ``feedback_id`` (two processes may sync at once: never back)."""
        with self._using("store a sync mark"):
            conn = self._connection()
            with write_transaction(conn):
                conn.execute(
                    "INSERT INTO sync_marks (name, feedback) VALUES (?, ?) ON CONFLICT (name) "
                    "DO UPDATE SET feedback = MAX(feedback, excluded.feedback)", (name, feedback_id))


def _marks(count: int) -> str:
    return ", ".join("?" * count)
