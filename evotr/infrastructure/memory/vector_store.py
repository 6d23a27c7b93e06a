"""A dict-backed VectorStore ranking by cosine similarity."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence

import attrs

from evotr.domain.memory import MemoryHit, MemoryRecord, MetadataValue
from evotr.domain.relevance.encoding import FEATURES_KEY, stored_terms
from evotr.domain.relevance.rare_terms import EXTRA, TermIndex
from evotr.ports.vector_store import VectorStore


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def _matches(record: MemoryRecord, where: Mapping[str, MetadataValue] | None) -> bool:
    return not where or all(record.metadata.get(key) == value for key, value in where.items())


class InMemoryVectorStore(VectorStore):
    """Exact search; fine for tests and a few thousand memories."""

    def __init__(self) -> None:
        # Insertion order is the write order find() pages through, as in Chroma.
        self._records: dict[str, MemoryRecord] = {}
        # Which record says which word, kept with the records (as Chroma's resident index keeps it).
        self._terms = TermIndex()
        self._lock = threading.Lock()

    def upsert(self, records: Sequence[MemoryRecord]) -> None:
        """Add or replace by id (a replaced record counts as the newest); one dimension for all."""
        records = [r.require_vector() for r in records]
        with self._lock:
            dims = {len(r.embedding) for r in (*self._records.values(), *records)}
            if len(dims) > 1:
                raise ValueError(f"embeddings of different dimensions: {sorted(dims)}")
            for record in records:
                self._records.pop(record.id, None)
                self._records[record.id] = record
                self._terms.put(record.id, stored_terms(record.metadata))

    def query(
        self, embedding: Sequence[float], k: int, where: Mapping[str, MetadataValue] | None = None
    ) -> list[MemoryHit]:
        """Top ``k`` by cosine similarity among records matching every ``where`` item."""
        if k < 1:
            return []
        with self._lock:
            candidates = [r for r in self._records.values() if _matches(r, where)]
        hits = [MemoryHit(r, _cosine(embedding, r.embedding)) for r in candidates]
        return sorted(hits, key=lambda h: (-h.score, h.record.id))[:k]

    def nearest(self, embedding: Sequence[float], k: int, terms: Sequence[str] = ()) -> list[MemoryHit]:
        """The top ``k`` by cosine, then the records saying a rare one of ``terms``
        (rare_terms.py), their vectors left out (as Chroma's resident index)."""
        hits = self.query(embedding, k)
        if terms and k >= 1:
            near = {h.record.id for h in hits}
            with self._lock:
                saying = [self._records[i] for i in self._terms.saying(terms) if i not in near][:EXTRA]
            hits += [MemoryHit(r, _cosine(embedding, r.embedding)) for r in saying]
        return [MemoryHit(attrs.evolve(h.record, embedding=()), h.score) for h in hits]

    def get(self, ids: Sequence[str]) -> list[MemoryRecord]:
        """Records by id, in the order asked; unknown ids skipped."""
        with self._lock:
            return [self._records[i] for i in ids if i in self._records]

    def find(
        self, where: Mapping[str, MetadataValue] | None = None, limit: int | None = None, offset: int = 0
    ) -> list[MemoryRecord]:
        """Records matching every ``where`` item, oldest write first, from ``offset``, at most ``limit``."""
        with self._lock:
            found = [r for r in self._records.values() if _matches(r, where)]
        return found[offset:] if limit is None else found[offset:offset + limit]

    def update_metadata(self, updates: Mapping[str, Mapping[str, MetadataValue]]) -> None:
        """Merge keys into each record's metadata in place (its write position stays); unknown ids skipped."""
        with self._lock:
            for record_id, changes in updates.items():
                record = self._records.get(record_id)
                if record is not None:
                    self._records[record_id] = attrs.evolve(
                        record, metadata={**record.metadata, **changes}
                    )
                    if FEATURES_KEY in changes:
                        self._terms.put(record_id, stored_terms(changes))

    def delete(self, ids: Sequence[str]) -> None:
        """Forget records; unknown ids are ignored."""
        with self._lock:
            for i in ids:
                self._records.pop(i, None)
                self._terms.remove(i)

    def count(self) -> int:
        """How many records are stored."""
        return len(self._records)
