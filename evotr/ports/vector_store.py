"""Stores memory records and finds the ones nearest an embedding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from evotr.domain.memory import MemoryHit, MemoryRecord, MetadataValue


@runtime_checkable
class VectorStore(Protocol):
    """Long-term memory storage (Chroma in real use)."""

    def upsert(self, records: Sequence[MemoryRecord]) -> None:
        """Add records, replacing any with the same id."""
        ...

    def query(
        self,
        embedding: Sequence[float],
        k: int,
        where: Mapping[str, MetadataValue] | None = None,
    ) -> list[MemoryHit]:
        """The ``k`` most similar records, best first, optionally filtered by metadata."""
        ...

    def get(self, ids: Sequence[str]) -> list[MemoryRecord]:
        """Records by id; unknown ids are skipped."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        """Forget records by id."""
        ...

    def count(self) -> int:
        """How many records are stored."""
        ...
