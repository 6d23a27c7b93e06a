"""The persisted per-key request log: budgets survive a restart and are shared, with no key in the file.

Two KeyPools on one real SQLite file stand for two processes (or a run and its restart); a fake
clock drives both, so a 60 s window takes no time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from evotr.application.errors import GenerationQuotaExhaustedError
from evotr.infrastructure.gemma.failures import RequestLogError
from evotr.infrastructure.gemma.keys import ApiKey
from evotr.infrastructure.gemma.limiter import Budget, KeyPool
from evotr.infrastructure.gemma.request_log import FILE_NAME, SqliteRequestLog
from tests.unit.test_gemma_limiter import FakeClock

pytestmark = pytest.mark.unit

SECRET = "AIzaSy-unit-request-log-secret-A1b2"
A = ApiKey("GOOGLE_API_KEY", SECRET)
MODEL = "gemma-3-27b-it"


def pool_on(path: Path, clock: FakeClock, *keys: ApiKey, rpm: int = 3, tpm: int = 100_000,
            rpd: int = 100) -> KeyPool:
    log = SqliteRequestLog(path, scope=MODEL, wall=clock.wall, in_flight_s=120.0)
    return KeyPool(list(keys or [A]), Budget(rpm=rpm, tpm=tpm, rpd=rpd), clock=clock.clock,
                   wall=clock.wall, sleep=clock.sleep, log=log)


async def send(pool: KeyPool, n: int, clock: FakeClock, tokens: int = 10) -> None:
    for _ in range(n):
        _, lease = await pool.acquire(tokens)
        clock.advance(1.0)
        lease.settle(tokens)


def test_a_restarted_pool_gets_no_fresh_rpm_burst(tmp_path: Path) -> None:
    clock, path = FakeClock(), tmp_path / FILE_NAME
    first = pool_on(path, clock, rpm=3)
    asyncio.run(send(first, 3, clock))  # answers at +1, +2, +3
    assert first.log is not None
    first.log.close()  # the process ends

    restarted = pool_on(path, clock, rpm=3)
    assert restarted.usage(A).requests == 3 and restarted.usage(A).today == 3
    assert restarted.wait_time(A, 10) == pytest.approx(60 + 1 - 3)  # the first answer leaves at +61
    started = clock.t
    asyncio.run(send(restarted, 1, clock))
    assert clock.t - started >= 58.0  # it waited for the window, it did not burst


def test_a_restarted_pool_keeps_the_days_count_and_stops_at_rpd(tmp_path: Path) -> None:
    clock, path = FakeClock(), tmp_path / FILE_NAME
    asyncio.run(send(pool_on(path, clock, rpm=100, rpd=4), 3, clock))
    restarted = pool_on(path, clock, rpm=100, rpd=4)

    async def scenario() -> None:
        await send(restarted, 1, clock)  # the 4th of the day
        with pytest.raises(GenerationQuotaExhaustedError):
            await restarted.acquire(10)

    asyncio.run(scenario())
    assert restarted.usage(A).today == 4


def test_two_live_pools_share_one_window(tmp_path: Path) -> None:
    clock, path = FakeClock(), tmp_path / FILE_NAME
    one, two = pool_on(path, clock, rpm=3), pool_on(path, clock, rpm=3)

    async def scenario() -> None:
        _, held = await one.acquire(10)  # in flight in "process" one: counts for two as well
        await send(two, 2, clock)  # answered at +1, +2
        assert two.wait_time(A, 10) == pytest.approx(60 + 1 - 2)  # alone, two could send at once
        clock.advance(70.0)  # two's answers leave the window; one's request is still in flight
        assert two.wait_time(A, 10) == 0.0
        await send(two, 2, clock)  # two in its window, one's in flight: full
        assert two.wait_time(A, 10) == pytest.approx(60 - 1)
        held.settle(10)
        assert two.usage(A).requests == 3 and one.usage(A).requests == 3

    asyncio.run(scenario())


def test_a_changed_key_under_the_same_variable_is_a_new_budget(tmp_path: Path) -> None:
    clock, path = FakeClock(), tmp_path / FILE_NAME
    asyncio.run(send(pool_on(path, clock, rpm=3), 3, clock))
    renewed = ApiKey("GOOGLE_API_KEY", "AIzaSy-unit-request-log-secret-NEW9")
    assert renewed.budget_id != A.budget_id and renewed.budget_id.startswith("GOOGLE_API_KEY#")
    assert pool_on(path, clock, renewed, rpm=3).wait_time(renewed, 10) == 0.0


def test_an_unanswered_row_of_a_killed_process_stops_blocking(tmp_path: Path) -> None:
    clock, path = FakeClock(), tmp_path / FILE_NAME
    killed = pool_on(path, clock, rpm=1)
    asyncio.run(killed.acquire(10))  # reserved, never settled: the process died mid-request
    other = pool_on(path, clock, rpm=1)
    assert other.wait_time(A, 10) == float("inf")
    clock.advance(121.0)  # in_flight_s
    assert other.wait_time(A, 10) == 0.0 and other.usage(A).today == 1  # still sent today


def test_the_log_holds_no_key_and_old_rows_are_pruned(tmp_path: Path) -> None:
    clock, path = FakeClock(), tmp_path / FILE_NAME
    pool = pool_on(path, clock, rpm=100)
    asyncio.run(send(pool, 5, clock))
    assert pool.log is not None
    pool.log.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())  # the .db and any -wal / -shm
    assert SECRET.encode() not in raw and SECRET[:-4].encode() not in raw
    with sqlite3.connect(path) as db:
        assert {row[0] for row in db.execute("SELECT key_id FROM requests")} == {A.budget_id}
    clock.advance(26 * 3600.0)  # more than a quota day later
    later = SqliteRequestLog(path, scope=MODEL, wall=clock.wall)
    assert later.others([A.budget_id])[A.budget_id].today == 0  # opening pruned them
    later.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone() == (0,)


def test_a_log_that_cannot_be_created_is_one_error_naming_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder", "utf-8")  # as root, permissions would not stop it: a file does
    clock = FakeClock()
    pool = pool_on(blocker / FILE_NAME, clock)  # building it writes nothing yet
    with pytest.raises(RequestLogError) as caught:
        asyncio.run(pool.acquire(10))
    message = str(caught.value)
    assert str(blocker / FILE_NAME) in message and "\n" not in message and "writable" in message
