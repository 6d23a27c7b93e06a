"""The per-key request log that makes RPM, TPM and RPD hold across processes and restarts.

Where: ``<home>/data/generator_requests.db`` (:data:`FILE_NAME`), one SQLite file in WAL mode.
Every request a :class:`~evotr.infrastructure.gemma.limiter.KeyPool` sends is a row: the model
(quota is per model), the key's :attr:`~evotr.infrastructure.gemma.keys.ApiKey.budget_id`
(``GOOGLE_API_KEY_2#<12 hex of SHA-256>``, never the key itself), the pool that sent it, when it
was reserved and answered (epoch seconds) and its tokens. A pool decides and reserves inside one
``BEGIN IMMEDIATE`` transaction, so two processes never both take the last free slot of a window.

A row left unanswered by a killed process counts as in flight for ``in_flight_s``, then only
towards its day. Rows older than both the quota day (midnight Pacific) and any window are
useless and are deleted when the log opens and about once an hour after.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs

from evotr.infrastructure.gemma.failures import RequestLogError
from evotr.infrastructure.gemma.quota_day import day_start
from evotr.infrastructure.sqlite.connection import switch_to_wal

FILE_NAME = "generator_requests.db"
_PRUNE_EVERY_S = 3600.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    key_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    reserved REAL NOT NULL,
    answered REAL,
    tokens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_by_key ON requests (scope, key_id, reserved);
"""
_log = logging.getLogger(__name__)


@attrs.frozen
class LoggedRequest:
    """A request another pool sent: when it was answered (or reserved, while in flight)."""

    at: float
    tokens: int
    settled: bool


@attrs.frozen
class OtherUsage:
    """What other pools (other processes, earlier runs) used of one key: recent requests, today's count."""

    recent: tuple[LoggedRequest, ...] = ()
    today: int = 0


class SqliteRequestLog:
    """One pool's view of the shared log file; ``owner`` tells its rows from every other pool's.

    ``scope`` is the model (Google counts quota per model). ``window_s`` is the rate window,
    ``in_flight_s`` how long an unanswered row of another pool still blocks (longer than a request's
    timeout). The file is opened on first use (building a generator writes nothing); RequestLogError,
    naming the file, when it cannot be opened or written.
    """

    def __init__(self, path: Path, *, scope: str, window_s: float = 60.0, in_flight_s: float = 180.0,
                 busy_timeout_s: float = 30.0, wall: Callable[[], float] = time.time) -> None:
        self.path, self.scope, self.owner = Path(path), scope, secrets.token_hex(8)
        self._window, self._in_flight, self._wall = window_s, in_flight_s, wall
        self._lock = threading.RLock()
        self._pruned_at = 0.0
        self._busy_timeout_s = busy_timeout_s
        self._connection: sqlite3.Connection | None = None

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Autocommit: every transaction is an explicit BEGIN IMMEDIATE … COMMIT below.
                db = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None,
                                     check_same_thread=False)
                # Two processes opening a new log at once: SQLite answers the switch "locked" at
                # once instead of waiting; switch_to_wal waits (seen as a flaky CI failure).
                switch_to_wal(db)
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise RequestLogError(self.path, _what(exc)) from None
            self._connection = db
            self.prune()
        return self._connection

    def __repr__(self) -> str:
        return f"SqliteRequestLog({str(self.path)!r}, scope={self.scope!r})"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rollback on error): other processes wait meanwhile."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise RequestLogError(self.path, _what(exc)) from None
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise RequestLogError(self.path, _what(exc)) from None

    def others(self, key_ids: Sequence[str]) -> dict[str, OtherUsage]:
        """Every other pool's recent requests and today's count, for each key id."""
        now = self._wall()
        since = now - self._window - self._in_flight
        today = day_start(now)
        found: dict[str, OtherUsage] = {}
        with self._lock:
            try:
                for key_id in key_ids:
                    rows = self._db.execute(
                        "SELECT reserved, answered, tokens FROM requests WHERE scope = ? AND key_id = ? "
                        "AND owner != ? AND reserved > ?", (self.scope, key_id, self.owner, since)).fetchall()
                    (count,) = self._db.execute(
                        "SELECT COUNT(*) FROM requests WHERE scope = ? AND key_id = ? AND owner != ? "
                        "AND reserved >= ?", (self.scope, key_id, self.owner, today)).fetchone()
                    recent = tuple(self._live(reserved, answered, tokens, now)
                                   for reserved, answered, tokens in rows)
                    found[key_id] = OtherUsage(tuple(r for r in recent if r is not None), int(count))
            except sqlite3.Error as exc:
                raise RequestLogError(self.path, _what(exc)) from None
        return found

    def _live(self, reserved: float, answered: float | None, tokens: int, now: float) -> LoggedRequest | None:
        if answered is None:  # in flight, unless its process died long ago
            return LoggedRequest(reserved, tokens, False) if reserved + self._in_flight > now else None
        return LoggedRequest(answered, tokens, True) if answered + self._window > now else None

    def add(self, key_id: str, tokens: int) -> int:
        """Log one request reserved now on ``key_id``; returns its row id for :meth:`settle`."""
        now = self._wall()
        with self._lock:
            try:
                cursor = self._db.execute(
                    "INSERT INTO requests (scope, key_id, owner, reserved, tokens) VALUES (?, ?, ?, ?, ?)",
                    (self.scope, key_id, self.owner, now, tokens))
            except sqlite3.Error as exc:
                raise RequestLogError(self.path, _what(exc)) from None
        return int(cursor.lastrowid or 0)

    def settle(self, row: int, tokens: int) -> None:
        """Mark row ``row`` answered now with its real ``tokens``.

        Never raises: a row that stays unanswered only blocks other pools for ``in_flight_s``.
        """
        now = self._wall()
        with self._lock:
            try:
                self._db.execute("UPDATE requests SET answered = ?, tokens = ? WHERE id = ?",
                                 (now, tokens, row))
            except (sqlite3.Error, RequestLogError) as exc:
                _log.warning("request log %s: could not record an answer (%s)", self.path, _what(exc))
        if now - self._pruned_at > _PRUNE_EVERY_S:
            self.prune()

    def remove(self, row: int) -> None:
        """Forget row ``row``: that request never left the machine (never raises, like settle)."""
        with self._lock:
            try:
                self._db.execute("DELETE FROM requests WHERE id = ?", (row,))
            except (sqlite3.Error, RequestLogError) as exc:
                _log.warning("request log %s: could not drop a request (%s)", self.path, _what(exc))

    def prune(self) -> int:
        """Delete rows that count in no window and no quota day any more; returns how many."""
        now = self._wall()
        cutoff = min(day_start(now), now - self._window - self._in_flight)
        with self._lock:
            try:
                deleted = self._db.execute("DELETE FROM requests WHERE reserved < ?", (cutoff,)).rowcount
            except (sqlite3.Error, RequestLogError) as exc:
                _log.warning("request log %s: could not prune (%s)", self.path, _what(exc))
                return 0
        self._pruned_at = now
        return int(deleted)

    def close(self) -> None:
        """Close the connection (the file stays for the next run; a later use opens it again)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _what(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())
