"""Stores memory records and finds the ones nearest an embedding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from evotr.domain.memory import MemoryHit, MemoryRecord, MetadataValue


@runtime_checkable
class VectorStore(Protocol):
    """Long-term memory storage (Chroma in real use)."""

    def upsert(self, records: Sequence[MemoryRecord]) -> None:
        """Add records, replacing any with the same id; a record without an embedding is refused."""
        ...

    def query(
        self,
        embedding: Sequence[float],
        k: int,
        where: Mapping[str, MetadataValue] | None = None,
    ) -> list[MemoryHit]:
        """The ``k`` most similar records, best first, optionally filtered by metadata."""
        ...

    def nearest(self, embedding: Sequence[float], k: int, terms: Sequence[str] = ()) -> list[MemoryHit]:
        """The ``k`` records most similar to ``embedding``, best first, by cosine similarity,
        then (where the store can tell without another round trip) up to a few more that say a
        rare one of the folded ``terms`` (domain/relevance/rare_terms.py), each with its cosine.

        The records carry text and metadata but no vector (``embedding == ()``): they are for
        ranking, not for writing back.
        """
        ...

    def get(self, ids: Sequence[str]) -> list[MemoryRecord]:
        """Records by id; unknown ids are skipped."""
        ...

    def find(
        self, where: Mapping[str, MetadataValue] | None = None, limit: int | None = None, offset: int = 0
    ) -> list[MemoryRecord]:
        """Records whose metadata has every ``where`` item, oldest write first, a page at a time."""
        ...

    def update_metadata(self, updates: Mapping[str, Mapping[str, MetadataValue]]) -> None:
        """Merge each id's keys into its metadata (other keys, text and vector stay); unknown ids skipped."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        """Forget records by id."""
        ...

    def count(self) -> int:
        """How many records are stored."""
        ...
