"""What the key pool keeps per request and per key, and the lease a caller settles.

Split from ``limiter`` (the pool's rules): these are the records the rules read and write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from evotr.infrastructure.gemma.keys import ApiKey

if TYPE_CHECKING:
    from evotr.infrastructure.gemma.limiter import KeyPool


@attrs.define
class Entry:
    ts: float  # when reserved; once settled, when the answer came (later than Google's own timestamp)
    tokens: int
    settled: bool = False
    row: int = 0  # its row in the request log (0: not logged)


@attrs.define(eq=False)
class KeyState:
    key: ApiKey
    day_ends: float
    entries: list[Entry] = attrs.field(factory=list)
    today: int = 0
    cooldown_until: float = 0.0
    retired_until: float | None = None
    refused: str | None = None  # the API refused the key itself: never used again
    others: list[Entry] = attrs.field(factory=list)  # other processes' recent requests (the log)
    others_today: int = 0


class Lease:
    """One request reserved on one key; ``settle`` it when the answer (or the failure) is known."""

    def __init__(self, pool: KeyPool, key: ApiKey, entry: Entry) -> None:
        self._pool, self.key, self._entry = pool, key, entry
        self.estimated_tokens = entry.tokens

    @property
    def settled(self) -> bool:
        """True once settled; later calls to ``settle`` change nothing."""
        return self._entry.settled

    def settle(self, actual_tokens: int | None = None) -> None:
        """Count ``actual_tokens`` (keep the estimate if None) from now on in the 60 s window."""
        if self._entry.settled:
            return
        # An unsettled entry never expires; a settled one leaves the window 60 s after the answer.
        self._entry.ts = self._pool.now()
        self._entry.tokens = self.estimated_tokens if actual_tokens is None else max(0, actual_tokens)
        self._entry.settled = True
        self._pool.settled(self._entry)

    def release(self) -> None:
        """The request never left this machine (connection refused): it counts against nothing."""
        if not self._entry.settled:
            self._entry.settled = True
            self._pool.released(self.key, self._entry)
