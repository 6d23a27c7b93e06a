"""The Gemma key pool on a fake clock: sliding windows, soonest key, settling, retirement."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from evotr.application.errors import GenerationQuotaExhaustedError
from evotr.infrastructure.gemma.keys import ApiKey
from evotr.infrastructure.gemma.limiter import Budget, KeyPool, estimate_tokens
from evotr.infrastructure.gemma.quota_day import next_daily_reset
from evotr.infrastructure.gemma.rate_limits import parse_rate_limit
from tests.fakes.gemini_quota import quota_error

pytestmark = pytest.mark.unit

A = ApiKey("GOOGLE_API_KEY", "unit-secret-key-AAAA")
B = ApiKey("GOOGLE_API_KEY_2", "unit-secret-key-BBBB")
T = TypeVar("T")
NOON_UTC_JAN = datetime(2025, 1, 15, 12, 0, tzinfo=UTC).timestamp()


class FakeClock:
    """Monotonic and wall time that move only when a waiter sleeps."""

    def __init__(self, wall: float = NOON_UTC_JAN) -> None:
        self.t, self._wall0, self.slept = 1000.0, wall, 0.0

    def clock(self) -> float:
        return self.t

    def wall(self) -> float:
        return self._wall0 + self.t - 1000.0

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        # Sleepers that start together wake together: time moves to the latest wake-up asked for.
        wake = self.t + seconds
        await asyncio.sleep(0)
        self.slept += max(0.0, wake - self.t)
        self.t = max(self.t, wake)


def pool_of(clock: FakeClock, *keys: ApiKey, rpm: int = 3, tpm: int = 1000, rpd: int = 100) -> KeyPool:
    return KeyPool(list(keys), Budget(rpm=rpm, tpm=tpm, rpd=rpd), clock=clock.clock, wall=clock.wall,
                   sleep=clock.sleep)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_rpm_window_frees_a_slot_60s_after_each_answer() -> None:
    clock = FakeClock()
    pool = pool_of(clock, A, rpm=3)

    async def scenario() -> None:
        for i in range(3):
            _, lease = await pool.acquire(10)
            clock.advance(i + 1.0)  # answers at +1, +3, +6
            lease.settle(10)
        assert pool.wait_time(A, 10) == pytest.approx(60 + 1 - 6)  # oldest answer at +1
        await pool.acquire(10)
        assert clock.t == pytest.approx(1061.0)
        assert pool.usage(A).requests == 3  # the +1 one left, the new one came in

    run(scenario())


def test_unsettled_requests_never_expire_and_settle_corrects_tokens() -> None:
    clock = FakeClock()
    pool = pool_of(clock, A, rpm=10, tpm=1000)

    async def scenario() -> None:
        _, lease = await pool.acquire(600)
        assert math.isinf(pool.wait_time(A, 600))  # only the in-flight one could free tokens
        clock.advance(120)
        assert math.isinf(pool.wait_time(A, 600)) and pool.usage(A).tokens == 600
        lease.settle(150)  # usageMetadata said 150
        assert pool.usage(A).tokens == 150
        assert pool.wait_time(A, 600) == 0
        _, second = await pool.acquire(600)
        second.settle(700)
        assert pool.wait_time(A, 400) == pytest.approx(60.0)  # 150 must leave: settled at the same time
        assert clock.slept == 0

    run(scenario())


def test_tpm_wait_counts_down_the_oldest_tokens_first() -> None:
    clock = FakeClock()
    pool = pool_of(clock, A, rpm=10, tpm=1000)

    async def scenario() -> None:
        for tokens in (300, 300, 300):
            _, lease = await pool.acquire(tokens)
            lease.settle(tokens)
            clock.advance(10)
        # 900 used; 500 more needs the first two (t=0, t=10) gone: free at t=70, now t=30.
        assert pool.wait_time(A, 500) == pytest.approx(40.0)
        assert pool.wait_time(A, 100) == 0

    run(scenario())


def test_acquire_picks_the_key_that_can_send_soonest() -> None:
    clock = FakeClock()
    pool = pool_of(clock, A, B, rpm=1)

    async def scenario() -> None:
        key_a, lease = await pool.acquire(1)
        lease.settle(1)  # A frees at +60
        clock.advance(10)
        key_b, lease = await pool.acquire(1)
        lease.settle(1)  # B frees at +70
        assert (key_a, key_b) == (A, B)
        clock.advance(5)
        key, lease = await pool.acquire(1)
        assert key == A and clock.t == pytest.approx(1060.0)
        lease.settle(1)
        key, _ = await pool.acquire(1)
        assert key == B and clock.t == pytest.approx(1070.0)

    run(scenario())


def test_free_keys_share_the_load() -> None:
    pool = pool_of(FakeClock(), A, B, rpm=30)
    keys = run(_acquire_keys(pool, 4))
    assert keys == [A, B, A, B]


async def _acquire_keys(pool: KeyPool, n: int) -> list[ApiKey]:
    return [(await pool.acquire(1))[0] for _ in range(n)]


def test_cool_down_sends_the_next_request_to_the_other_key() -> None:
    clock = FakeClock()
    pool = pool_of(clock, A, B, rpm=30)

    async def scenario() -> None:
        pool.cool_down(A, 10)
        assert [(await pool.acquire(1))[0] for _ in range(3)] == [B, B, B]
        pool.cool_down(B, 4)
        key, _ = await pool.acquire(1)
        assert key == B and clock.t == pytest.approx(1004.0)

    run(scenario())


def test_concurrent_waiters_never_exceed_the_window() -> None:
    clock = FakeClock()
    pool = pool_of(clock, A, rpm=3, tpm=10_000)
    sent: list[float] = []

    async def one() -> None:
        _, lease = await pool.acquire(5)
        sent.append(clock.t)
        lease.settle(5)

    async def scenario() -> None:
        await asyncio.gather(*(one() for _ in range(10)))

    run(scenario())
    assert len(sent) == 10
    for t in sent:
        assert sum(1 for s in sent if t - 60 < s <= t) <= 3
    assert max(sent) == pytest.approx(1180.0)  # 3 per minute: the 10th goes at +180 s


def test_a_cancelled_waiter_reserves_nothing() -> None:
    clock = FakeClock()
    pool = KeyPool([A], Budget(rpm=1), clock=clock.clock, wall=clock.wall)  # real sleep

    async def scenario() -> None:
        await pool.acquire(1)
        waiter = asyncio.create_task(pool.acquire(1))
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert pool.usage(A).requests == 1 and pool.usage(A).today == 1

    run(scenario())


def test_a_settle_wakes_a_waiter_at_once() -> None:
    pool = KeyPool([A], Budget(rpm=1), poll_s=30.0)

    async def scenario() -> float:
        _, lease = await pool.acquire(1)
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, lease.settle, 1)
        start = loop.time()
        with pytest.raises(TimeoutError):  # settled but still in the window: 60 s away
            await asyncio.wait_for(pool.acquire(1), 0.5)
        return loop.time() - start

    assert run(scenario()) < 1.0


def test_retired_keys_are_skipped_and_all_retired_raises_with_resume_time() -> None:
    clock = FakeClock()
    pool = pool_of(clock, A, B)

    async def scenario() -> None:
        pool.retire(A)
        assert pool.is_retired(A) and (await pool.acquire(1))[0] == B
        pool.retire(B)
        with pytest.raises(GenerationQuotaExhaustedError) as caught:
            await pool.acquire(1)
        expected = datetime(2025, 1, 16, 8, 0, tzinfo=UTC)  # midnight PST
        assert caught.value.resume_at == expected
        assert "2025-01-16 08:00 UTC" in str(caught.value)
        assert A.secret not in str(caught.value) and B.secret not in str(caught.value)
        clock.advance(expected.timestamp() - clock.wall() + 1)
        assert not pool.is_retired(A) and pool.usage(A).today == 0

    run(scenario())


def test_own_day_count_retires_a_key_at_rpd() -> None:
    clock = FakeClock()
    pool = pool_of(clock, A, rpd=2, rpm=30)

    async def scenario() -> None:
        await pool.acquire(1)
        await pool.acquire(1)
        with pytest.raises(GenerationQuotaExhaustedError):
            await pool.acquire(1)
        clock.advance(20 * 3600)  # past 08:00 UTC next day
        await pool.acquire(1)
        assert pool.usage(A).today == 1

    run(scenario())


def test_daily_reset_is_the_next_pacific_midnight() -> None:
    winter = next_daily_reset(NOON_UTC_JAN)
    assert datetime.fromtimestamp(winter, UTC) == datetime(2025, 1, 16, 8, 0, tzinfo=UTC)
    summer = next_daily_reset(datetime(2025, 7, 15, 12, 0, tzinfo=UTC).timestamp())
    assert datetime.fromtimestamp(summer, UTC) == datetime(2025, 7, 16, 7, 0, tzinfo=UTC)
    assert next_daily_reset(winter) == winter + 86_400  # exactly at midnight: the next one


def test_token_estimate_reserves_prompt_over_three_plus_output() -> None:
    assert estimate_tokens("x" * 10, 100) == 104
    assert estimate_tokens("x" * 9, 0) == 3


def test_an_estimate_above_tpm_goes_out_alone() -> None:
    clock = FakeClock()
    pool = pool_of(clock, A, tpm=1000)
    _, lease = run(pool.acquire(5000))
    assert lease.estimated_tokens == 1000


@pytest.mark.parametrize(("kind", "per_day", "tokens"),
                         [("minute", False, False), ("tokens", False, True), ("day", True, False)])
def test_429_bodies_are_read_like_google_writes_them(kind: str, per_day: bool, tokens: bool) -> None:
    limit = parse_rate_limit(quota_error(kind, 16.2, 30, "gemma-3-27b-it"))
    assert (limit.per_day, limit.tokens, limit.retry_delay_s) == (per_day, tokens, 17.0)


def test_429_without_details_is_per_minute_and_the_message_delay_is_used() -> None:
    limit = parse_rate_limit({"error": {"code": 429, "message": "Please retry in 2.5s."}})
    assert (limit.per_day, limit.retry_delay_s) == (False, 2.5)
    assert parse_rate_limit("not json") == parse_rate_limit({})
