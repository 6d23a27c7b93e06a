"""The dynamic prompt's cache: the exemplars picked for (intent, normalised message), LRU-evicted.

A repeated question (the same words, any casing, diacritics or spacing) skips the vector search.
A new or removed exemplar of an intent invalidates that intent's entries, so the very next
question sees it. Hits and misses are counted so the hit rate can be reported.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import attrs

from evotr.domain.errors import DomainValidationError
from evotr.domain.exemplars import Exemplar, normalise
from evotr.domain.intents import Intent

EMPTY_FOR = 30.0  # seconds an intent found without exemplars is trusted to stay so


@attrs.frozen(slots=True)
class CacheStats:
    """Lookups that found an entry (``hits``) and that did not (``misses``)."""

    hits: int = 0
    misses: int = 0

    @property
    def hit_rate(self) -> float:
        """Hits over lookups; 0.0 before the first lookup."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """The JSON shape: hits, misses and the hit rate (4 decimals)."""
        return {"hits": self.hits, "misses": self.misses, "hit_rate": round(self.hit_rate, 4)}

    def describe(self) -> str:
        """One line for people."""
        return f"{self.hits} hits, {self.misses} misses, hit rate {self.hit_rate:.0%}"


class ExemplarCache:
    """At most ``size`` entries; the least recently used goes first.

    Locked: chat turns (the HTTP server's worker) and feedback (its request threads) share it.
    """

    def __init__(self, size: int = 256, empty_for: float = EMPTY_FOR,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise DomainValidationError("exemplar_cache", f"must be a whole number >= 1, got {size!r}")
        self._size = size
        # Intents found to have no exemplar at all, and when: their messages skip the search.
        self._empty: dict[Intent, float] = {}
        self._empty_for = empty_for
        self._clock = clock
        self._entries: OrderedDict[tuple[Intent, str], tuple[Exemplar, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get(self, intent: Intent, message: str) -> tuple[Exemplar, ...] | None:
        """The cached pick for the message, counting a hit, or None, counting a miss."""
        key = (intent, normalise(message))
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return found

    def put(self, intent: Intent, message: str, exemplars: tuple[Exemplar, ...]) -> None:
        """Remember a pick (an empty one too: "nothing similar" is worth caching)."""
        key = (intent, normalise(message))
        with self._lock:
            self._entries[key] = exemplars
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def mark_empty(self, intent: Intent) -> None:
        """The store holds no exemplar of ``intent`` (its search found none)."""
        with self._lock:
            self._empty[intent] = self._clock()

    def known_empty(self, intent: Intent) -> bool:
        """Whether ``intent`` was found empty in the last ``empty_for`` seconds and has not changed since.

        Every message of an intent nobody has rated would otherwise search the store (~1-2 ms of
        Chroma each): verdicts invalidate at once, another process's too once this process
        applies the verdicts stored since its last look (application/exemplar_sync.py); the
        time limit is a backstop.
        """
        with self._lock:
            since = self._empty.get(intent)
            return since is not None and self._clock() - since < self._empty_for

    def invalidate(self, intent: Intent) -> int:
        """Drop every entry of ``intent`` (its exemplars changed); how many were dropped."""
        with self._lock:
            self._empty.pop(intent, None)
            stale = [key for key in self._entries if key[0] is intent]
            for key in stale:
                del self._entries[key]
            return len(stale)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def stats(self) -> CacheStats:
        """Hits and misses since this cache was made."""
        with self._lock:
            return CacheStats(self._hits, self._misses)

