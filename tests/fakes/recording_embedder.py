"""The hashing embedder, remembering every batch it was asked for (which texts a turn embeds)."""

from __future__ import annotations

from collections.abc import Sequence

from evotr.infrastructure.memory.embedder import HashingEmbedder


class RecordingEmbedder(HashingEmbedder):
    """HashingEmbedder whose ``batches`` lists every call's texts, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        return super().embed(texts)
