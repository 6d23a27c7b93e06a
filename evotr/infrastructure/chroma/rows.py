"""Chroma's rows as our records, and our filters in Chroma's syntax (vector_store.py's helpers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evotr.domain.memory import MemoryRecord, MetadataValue


def records(ids: Sequence[str], documents: Sequence[str], metadatas: Sequence[Any],
            embeddings: Sequence[Any]) -> list[MemoryRecord]:
    """Chroma's columns of a get or query as records."""
    return [record(i, doc, meta, vector)
            for i, doc, meta, vector in zip(ids, documents, metadatas, embeddings, strict=True)]


def record(i: str, doc: str, meta: Any, vector: Any) -> MemoryRecord:
    """One row as a record."""
    # tolist(): Chroma gives NumPy rows; converting them whole is far faster than float by float.
    return MemoryRecord(i, doc, vector.tolist() if hasattr(vector, "tolist") else vector, dict(meta or {}))


def present(*columns: Sequence[Any]) -> list[tuple[Any, ...]]:
    """A query's rows without those another process deleted: the embedded client's in-memory
    index still returns them, with no document (every record we write has one)."""
    return [row for row in zip(*columns, strict=True) if row[1] is not None]


def where(filters: Mapping[str, MetadataValue] | None) -> dict[str, Any] | None:
    """Our equality filter in Chroma's syntax (one clause alone, several under $and)."""
    if not filters:
        return None
    clauses = [{key: {"$eq": value}} for key, value in filters.items()]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
