"""Per-key rate limits with sliding 60 s windows: a request goes out only if every limit allows it.

Each request reserves :func:`~evotr.infrastructure.gemma.budget.estimate_tokens` before it is
sent; its lease is settled with the real ``usageMetadata`` count once the answer arrives (the TPM
window counts prompt plus output tokens, as Google does), or released if it never left the machine.

Shared budgets: with a :class:`~evotr.infrastructure.gemma.request_log.SqliteRequestLog`, every
request is also logged, and what other processes (or earlier runs) logged for a key counts in its
windows and its day too, so a restarted or second process gets no fresh burst.

Daily reset: per-day counters restart at the next midnight in Pacific time (America/Los_Angeles),
which is when Google resets requests-per-day quotas; a key retired by a per-day 429 comes back then.

Quota is counted per Google Cloud project: keys add budget only if they come from different projects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from evotr.application.errors import GenerationQuotaExhaustedError
from evotr.infrastructure.gemma.budget import Budget, KeyUsage, estimate_tokens
from evotr.infrastructure.gemma.failures import NoUsableKeyError
from evotr.infrastructure.gemma.keys import ApiKey
from evotr.infrastructure.gemma.lease import Entry, KeyState, Lease
from evotr.infrastructure.gemma.quota_day import next_daily_reset
from evotr.infrastructure.gemma.request_log import SqliteRequestLog

__all__ = ["WINDOW_S", "Budget", "KeyPool", "KeyUsage", "Lease", "estimate_tokens"]

WINDOW_S = 60.0
_log = logging.getLogger(__name__)


class KeyPool:
    """Hands out keys so that no key ever goes over its RPM, TPM or RPD budget.

    ``clock`` (monotonic seconds), ``wall`` (epoch seconds) and ``sleep`` are injectable so tests
    can drive time. ``acquire`` waits for the key that can send soonest. With a ``log`` the
    budgets are shared with every other pool on the same file (see the module docstring).
    """

    def __init__(self, keys: Sequence[ApiKey], budget: Budget | None = None, *,
                 window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, poll_s: float = 1.0,
                 log: SqliteRequestLog | None = None) -> None:
        if not keys:
            raise ValueError("KeyPool needs at least one API key")
        self.budget = budget or Budget()
        self._window, self._clock, self._wall, self._sleep, self._poll = window_s, clock, wall, sleep, poll_s
        self.log = log
        now = clock()
        self._states = [KeyState(key, self._day_end(now)) for key in keys]
        self._lock = asyncio.Lock()
        self._changed: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    @property
    def keys(self) -> list[ApiKey]:
        """The keys, in the order given."""
        return [s.key for s in self._states]

    def now(self) -> float:
        """The pool's clock (monotonic seconds)."""
        return self._clock()

    async def acquire(self, estimated_tokens: int) -> tuple[ApiKey, Lease]:
        """Reserve one request of ``estimated_tokens`` on the key that can send soonest.

        Waits (never busy) until it is within every limit. A reservation larger than the TPM
        budget is clamped to it, so it goes out alone in an empty window. Raises
        GenerationQuotaExhaustedError when every key is out of its daily quota.
        """
        tokens = max(1, min(estimated_tokens, self.budget.tpm))
        while True:
            async with self._lock:
                # One transaction from reading the others' usage to logging ours: no process
                # can take the same free slot in between.
                with self.log.transaction() if self.log else contextlib.nullcontext():
                    now = self._refresh()
                    candidates = [s for s in self._states if self._usable(s, now)]
                    if not candidates:
                        raise self._exhausted(now)
                    wait, _, best = min((self._wait(s, now, tokens), len(s.entries), i)
                                        for i, s in enumerate(candidates))
                    if wait <= 0:
                        return self._reserve(candidates[best], now, tokens)
            await self._pause(wait)

    def wait_time(self, key: ApiKey, tokens: int) -> float:
        """Seconds until ``key`` could send ``tokens`` (inf: retired, or blocked by unsettled leases)."""
        state, now = self._state(key), self._refresh()
        return self._wait(state, now, tokens) if self._usable(state, now) else math.inf

    def usage(self, key: ApiKey) -> KeyUsage:
        """Requests and tokens in ``key``'s window now, and its requests today (other pools' too)."""
        state = self._state(key)
        self._prune(state, self._refresh())
        entries = state.entries + state.others
        return KeyUsage(len(entries), sum(e.tokens for e in entries), state.today + state.others_today)

    def cool_down(self, key: ApiKey, seconds: float) -> None:
        """Send nothing on ``key`` for ``seconds`` (a per-minute 429 said to wait)."""
        state = self._state(key)
        state.cooldown_until = max(state.cooldown_until, self._clock() + max(0.0, seconds))
        self.notify()

    def retire(self, key: ApiKey) -> None:
        """Send nothing on ``key`` until the daily reset (a per-day 429)."""
        state = self._state(key)
        self._roll_day(state, self._clock())
        state.retired_until = state.day_ends
        _log.info("key %s retired until %s", key.name, self._to_datetime(state.day_ends).isoformat())
        self.notify()

    def refuse(self, key: ApiKey, reason: str) -> bool:
        """Never send on ``key`` again: the API refused the key itself (``reason`` says how).

        Returns False if it was refused already (so callers warn once).
        """
        state = self._state(key)
        first = state.refused is None
        state.refused = state.refused or reason
        self.notify()
        return first

    @property
    def refused(self) -> list[tuple[ApiKey, str]]:
        """The keys the API refused, with the reason, in key order."""
        return [(s.key, s.refused) for s in self._states if s.refused is not None]

    def is_retired(self, key: ApiKey) -> bool:
        """True while ``key`` is out of its daily quota (or refused for good)."""
        state = self._state(key)
        return not self._usable(state, self._refresh())

    def settled(self, entry: Entry) -> None:
        """A lease settled: record its answer in the log and wake the waiters."""
        if self.log is not None and entry.row:
            self.log.settle(entry.row, entry.tokens)
        self.notify()

    def released(self, key: ApiKey, entry: Entry) -> None:
        """A lease was released: take it out of the window, the day and the log."""
        state = self._state(key)
        if entry in state.entries:
            state.entries.remove(entry)
            state.today = max(0, state.today - 1)
        if self.log is not None and entry.row:
            self.log.remove(entry.row)
        self.notify()

    def notify(self) -> None:
        """Wake every waiter to look again (a lease settled or a key changed)."""
        if self._changed is not None:
            self._changed[1].set()
            self._changed = None

    def _state(self, key: ApiKey) -> KeyState:
        for state in self._states:
            if state.key == key:
                return state
        raise KeyError(f"{key!r} is not in this pool")

    def _day_end(self, now: float) -> float:
        wall = self._wall()
        return now + (next_daily_reset(wall) - wall)

    def _to_datetime(self, at: float) -> datetime:
        return datetime.fromtimestamp(self._wall() + (at - self._clock()), UTC)

    def _roll_day(self, state: KeyState, now: float) -> None:
        if now >= state.day_ends:
            state.today, state.day_ends = 0, self._day_end(now)
        if state.retired_until is not None and now >= state.retired_until:
            state.retired_until = None

    def _refresh(self) -> float:
        """The clock now, after loading the other pools' usage from the log (if any)."""
        now = self._clock()
        if self.log is None:
            return now
        usage = self.log.others([s.key.budget_id for s in self._states])
        offset = now - self._wall()  # logged times are epoch seconds; the windows run on the clock
        for state in self._states:
            found = usage[state.key.budget_id]
            state.others = [Entry(r.at + offset, r.tokens, r.settled) for r in found.recent]
            state.others_today = found.today
        return now

    def _usable(self, state: KeyState, now: float) -> bool:
        self._roll_day(state, now)
        if state.refused is not None:
            return False
        if state.retired_until is None and state.today + state.others_today >= self.budget.rpd:
            state.retired_until = state.day_ends  # our own count reached the daily budget
        return state.retired_until is None

    def _prune(self, state: KeyState, now: float) -> None:
        state.entries = [e for e in state.entries if not e.settled or e.ts + self._window > now]

    def _wait(self, state: KeyState, now: float, tokens: int) -> float:
        self._prune(state, now)
        entries = state.entries + [e for e in state.others if not e.settled or e.ts + self._window > now]
        wait = max(0.0, state.cooldown_until - now)
        settled = sorted((e for e in entries if e.settled), key=lambda e: e.ts)
        excess = len(entries) + 1 - self.budget.rpm
        if excess > 0:  # the oldest `excess` settled requests must leave the window first
            if excess > len(settled):
                return math.inf
            wait = max(wait, settled[excess - 1].ts + self._window - now)
        over = sum(e.tokens for e in entries) + tokens - self.budget.tpm
        if over > 0:
            for entry in settled:
                over -= entry.tokens
                if over <= 0:
                    return max(wait, entry.ts + self._window - now)
            return math.inf
        return wait

    def _reserve(self, state: KeyState, now: float, tokens: int) -> tuple[ApiKey, Lease]:
        entry = Entry(now, tokens, row=self.log.add(state.key.budget_id, tokens) if self.log else 0)
        state.entries.append(entry)
        state.today += 1
        return state.key, Lease(self, state.key, entry)

    def _exhausted(self, now: float) -> GenerationQuotaExhaustedError | NoUsableKeyError:
        refused = [f"{s.key.name} ({s.key.masked}): {s.refused}" for s in self._states if s.refused]
        left = [s for s in self._states if s.refused is None]
        if not left:
            return NoUsableKeyError(refused)
        resume = self._to_datetime(min(s.retired_until or s.day_ends for s in left))
        usable, note = ("usable ", f" ({len(refused)} more refused by the API: {'; '.join(refused)})") \
            if refused else ("", "")
        return GenerationQuotaExhaustedError(
            f"every {usable}API key ({len(left)}) is out of its daily quota{note}; it resets at "
            f"{resume:%Y-%m-%d %H:%M} UTC (midnight Pacific time), resume then", resume_at=resume)

    async def _pause(self, seconds: float) -> None:
        # Sleep until the earliest key frees up, or sooner if a lease settles or a key changes.
        loop = asyncio.get_running_loop()
        if self._changed is None or self._changed[0] is not loop:
            self._changed = (loop, asyncio.Event())
        changed = self._changed[1]
        sleeper = asyncio.ensure_future(self._sleep(seconds if math.isfinite(seconds) else self._poll))
        woken = asyncio.ensure_future(changed.wait())
        try:
            await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            woken.cancel()
