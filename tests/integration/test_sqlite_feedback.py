"""The SQLite repository on real files: pragmas, migrations, bad files and concurrent writers."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from evotr.application.errors import UnknownTurnError
from evotr.domain.errors import EvoTrError
from evotr.domain.feedback import Feedback, FeedbackStats
from evotr.domain.intents import Intent
from evotr.domain.turns import TurnRecord, new_turn_id
from evotr.infrastructure.sqlite.connection import open_connection
from evotr.infrastructure.sqlite.errors import (
    NotASqliteDatabaseError,
    SchemaTooNewError,
    SqliteStorageError,
)
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository
from evotr.infrastructure.sqlite.migrations import LATEST_VERSION, MIGRATIONS, migrate

pytestmark = pytest.mark.integration

ALL_VERSIONS = [(v,) for v in range(1, LATEST_VERSION + 1)]


def _turn(n: int = 0) -> TurnRecord:
    return TurnRecord(prompt=f"soru {n}", reply=f"yanıt {n}", intent=Intent.SCIENCE, confidence=0.8)


def _query(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_nothing_is_opened_until_first_use(tmp_path: Path) -> None:
    path = tmp_path / "home" / "evotr.db"
    repo = SqliteFeedbackRepository(path)
    assert not path.parent.exists()
    assert repo.stats() == FeedbackStats()
    assert path.is_file()
    repo.close()


def test_initialize_creates_folder_wal_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "evotr.db"
    repo = SqliteFeedbackRepository(path)
    repo.initialize()
    assert _query(path, "PRAGMA journal_mode") == [("wal",)]
    assert _query(path, "SELECT version FROM schema_version") == ALL_VERSIONS
    tables = {row[0] for row in _query(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"turns", "feedback", "schema_version"} <= tables
    repo.close()


def test_connection_pragmas(tmp_path: Path) -> None:
    conn = open_connection(tmp_path / "evotr.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (30_000,)
        assert conn.isolation_level is None
    finally:
        conn.close()


def test_reopening_the_file_keeps_turns_and_feedback(tmp_path: Path) -> None:
    path = tmp_path / "evotr.db"
    first = SqliteFeedbackRepository(path)
    turn = _turn()
    first.add_turn(turn)
    feedback = Feedback(turn.id, "correction", "Doğrusu: ışık hızı ≈ 300 000 km/s ✨")
    first.add_feedback(feedback)
    first.close()
    second = SqliteFeedbackRepository(path)
    assert second.get_turn(turn.id) == turn
    assert list(second.list_feedback()) == [feedback]
    assert second.stats() == FeedbackStats(corrections=1)
    second.close()


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "evotr.db"
    repo = SqliteFeedbackRepository(path)
    repo.initialize()
    repo.initialize()
    repo.add_turn(_turn())
    repo.close()
    SqliteFeedbackRepository(path).initialize()
    conn = sqlite3.connect(path)
    try:
        assert migrate(conn, path) == []
    finally:
        conn.close()
    assert _query(path, "SELECT version FROM schema_version") == ALL_VERSIONS
    assert _query(path, "SELECT COUNT(*) FROM turns") == [(1,)]


def test_a_new_migration_is_applied_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "evotr.db"
    SqliteFeedbackRepository(path).initialize()
    extended = (*MIGRATIONS, ("CREATE TABLE extra (x TEXT)", "INSERT INTO extra VALUES ('ş')"))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert migrate(conn, path, extended) == [LATEST_VERSION + 1]
        assert migrate(conn, path, extended) == []
    finally:
        conn.close()
    versions = _query(path, "SELECT version FROM schema_version ORDER BY version")
    assert versions == [*ALL_VERSIONS, (LATEST_VERSION + 1,)]
    assert _query(path, "SELECT x FROM extra") == [("ş",)]


def test_a_failing_migration_leaves_the_old_version(tmp_path: Path) -> None:
    path = tmp_path / "evotr.db"
    SqliteFeedbackRepository(path).initialize()
    broken = (*MIGRATIONS, ("CREATE TABLE half (x TEXT)", "THIS IS NOT SQL"))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError):
            migrate(conn, path, broken)
    finally:
        conn.close()
    assert _query(path, "SELECT version FROM schema_version") == ALL_VERSIONS
    assert _query(path, "SELECT name FROM sqlite_master WHERE name = 'half'") == []


def test_newer_schema_is_refused_naming_file_and_versions(tmp_path: Path) -> None:
    path = tmp_path / "evotr.db"
    SqliteFeedbackRepository(path).initialize()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (7, 'later')")
    conn.close()
    repo = SqliteFeedbackRepository(path)
    with pytest.raises(SchemaTooNewError) as caught:
        repo.initialize()
    message = str(caught.value)
    assert str(path) in message and "7" in message and str(LATEST_VERSION) in message
    assert (caught.value.found, caught.value.known) == (7, LATEST_VERSION)
    assert isinstance(caught.value, EvoTrError)
    with pytest.raises(SchemaTooNewError):
        repo.add_turn(_turn())
    assert _query(path, "SELECT COUNT(*) FROM turns") == [(0,)]


@pytest.mark.parametrize(
    "content",
    [b"\x00\xffthis is not a database\n" * 200, b"SQLite format 3\x00" + b"\xde\xad\xbe\xef" * 1024],
    ids=["garbage", "sqlite-header-garbage-body"],
)
def test_a_file_that_is_not_sqlite_is_refused_and_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "evotr.db"
    path.write_bytes(content)
    repo = SqliteFeedbackRepository(path)
    with pytest.raises(NotASqliteDatabaseError) as caught:
        repo.initialize()
    assert str(path) in str(caught.value)
    with pytest.raises(NotASqliteDatabaseError):
        repo.add_turn(_turn())
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evotr.db"]


def test_a_folder_in_place_of_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evotr.db"
    path.mkdir()
    with pytest.raises(SqliteStorageError, match="folder"):
        SqliteFeedbackRepository(path).initialize()


def test_a_refused_write_leaves_no_lock_behind(tmp_path: Path) -> None:
    path = tmp_path / "evotr.db"
    repo = SqliteFeedbackRepository(path)
    with pytest.raises(UnknownTurnError):
        repo.add_feedback(Feedback(new_turn_id(), "thumbs_up"))
    other = sqlite3.connect(path, timeout=0.5, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
    turn_id = repo.add_turn(_turn())
    repo.add_feedback(Feedback(turn_id, "thumbs_up"))
    assert _query(path, "SELECT COUNT(*) FROM feedback") == [(1,)]
    repo.close()


def test_threads_share_one_repository(tmp_path: Path) -> None:
    repo = SqliteFeedbackRepository(tmp_path / "evotr.db")
    ids: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for n in range(40):
                ids.append(repo.add_feedback(Feedback(repo.add_turn(_turn(n)), "thumbs_down")))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(ids)) == 240
    assert repo.stats() == FeedbackStats(thumbs_down=240)
    repo.close()


def test_a_migration_applied_meanwhile_by_another_writer_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "evotr.db"
    other = open_connection(path)
    other.execute("BEGIN IMMEDIATE")
    late = open_connection(path)
    asked_for_lock = threading.Event()
    late.set_trace_callback(lambda sql: asked_for_lock.set() if sql == "BEGIN IMMEDIATE" else None)
    result: list[object] = []
    # `late` reads version 0, then waits for the write lock that `other` holds while migrating.
    worker = threading.Thread(target=lambda: result.append(_migrate_or_error(late, path)))
    worker.start()
    try:
        assert asked_for_lock.wait(10)
        other.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
        for statement in MIGRATIONS[0]:
            other.execute(statement)
        other.execute("INSERT INTO schema_version VALUES (1, 'by the other writer')")
        other.execute("COMMIT")
        worker.join(10)
    finally:
        other.close()
    late.close()
    assert result == [list(range(2, LATEST_VERSION + 1))]
    assert _query(path, "SELECT version, applied_at FROM schema_version")[0] == (1, "by the other writer")


def _migrate_or_error(conn: sqlite3.Connection, path: Path) -> object:
    try:
        return migrate(conn, path)
    except sqlite3.Error as exc:
        return exc


_WRITER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from evotr.domain.feedback import Feedback
    from evotr.domain.turns import TurnRecord
    from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository

    db, ready, go, name = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    ready.touch()
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("never told to start")
        time.sleep(0.002)
    start = time.time()
    repo = SqliteFeedbackRepository(db)
    ids = []
    for n in range(500):
        turn = TurnRecord(prompt=f"{name} {n}", reply="yanıt", intent="history", confidence=0.9,
                          source=name)
        ids.append(repo.add_feedback(Feedback(repo.add_turn(turn), "thumbs_up", source=name)))
    end = time.time()
    repo.close()
    print(json.dumps({"start": start, "end": end, "ids": ids}))
    """
)


@pytest.mark.slow
def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    db, go = tmp_path / "shared" / "evotr.db", tmp_path / "go"
    names = ("alpha", "beta")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(db), str(tmp_path / f"ready-{name}"), str(go), name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in names
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{name}").exists() for name in names):
            assert all(p.poll() is None for p in procs), "a writer died before starting"
            assert time.monotonic() < deadline, "writers never became ready"
            time.sleep(0.01)
        # Both are imported and waiting; one file releases them together (and both migrate the new DB).
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    runs = [json.loads(out) for out, _ in outputs]
    a, b = runs
    assert a["start"] < b["end"] and b["start"] < a["end"], "the writers did not overlap"
    all_ids = a["ids"] + b["ids"]
    assert len(all_ids) == 1000 and len(set(all_ids)) == 1000
    assert _query(db, "SELECT COUNT(*), COUNT(DISTINCT id) FROM feedback") == [(1000, 1000)]
    assert _query(db, "SELECT source, COUNT(*) FROM feedback GROUP BY source ORDER BY source") == [
        ("alpha", 500), ("beta", 500)
    ]
    assert _query(db, "SELECT COUNT(*) FROM turns") == [(1000,)]
    assert _query(db, "SELECT version FROM schema_version") == ALL_VERSIONS
    assert sorted(all_ids) == [r[0] for r in _query(db, "SELECT id FROM feedback ORDER BY id")]
