"""A hashing embedder: character trigrams of folded text into a fixed-size unit vector."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

from evotr.domain.text import fold
from evotr.ports.embedder import Embedder


class HashingEmbedder(Embedder):
    """Deterministic across processes (crc32, not hash()); no model needed."""

    def __init__(self, dimension: int = 256) -> None:
        if dimension < 8:
            raise ValueError(f"embedder dimension must be >= 8, got {dimension}")
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return self._dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One L2-normalised vector per text (all zeros for text with no characters)."""
        return [self._embed_one(t) for t in texts]

    def _embed_one(self, text: str) -> list[float]:
        vector = [0.0] * self._dimension
        padded = f"  {fold(text)} "
        for i in range(len(padded) - 2):
            h = zlib.crc32(padded[i:i + 3].encode("utf-8"))
            vector[h % self._dimension] += 1.0 if (h >> 16) & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in vector))
        return [x / norm for x in vector] if norm else vector
