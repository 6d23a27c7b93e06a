"""The VectorStore port on Chroma's embedded PersistentClient (cosine space, our own embeddings)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evotr.domain.memory import MemoryHit, MemoryRecord, MetadataValue
from evotr.ports.vector_store import VectorStore


class ChromaVectorStore(VectorStore):
    """One Chroma collection in ``path``; opened on first use, never at construction."""

    def __init__(self, path: Path, collection: str = "memories") -> None:
        self._path = path
        self._name = collection
        self._collection: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        with self._lock:
            if self._collection is None:
                import chromadb
                from chromadb.config import Settings

                self._path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(
                    path=str(self._path), settings=Settings(anonymized_telemetry=False)
                )
                # embedding_function=None: vectors come from our Embedder, Chroma must not fetch a model.
                self._collection = client.get_or_create_collection(
                    self._name, embedding_function=None, metadata={"hnsw:space": "cosine"}
                )
            return self._collection

    def upsert(self, records: Sequence[MemoryRecord]) -> None:
        """Add or replace records by id (metadata is replaced, not merged as Chroma's upsert does)."""
        if not records:
            return
        collection = self._open()
        collection.delete(ids=[r.id for r in records])
        collection.add(
            ids=[r.id for r in records],
            embeddings=[list(r.embedding) for r in records],
            documents=[r.text for r in records],
            metadatas=[dict(r.metadata) or None for r in records],
        )

    def query(
        self, embedding: Sequence[float], k: int, where: Mapping[str, MetadataValue] | None = None
    ) -> list[MemoryHit]:
        """Top ``k`` by cosine similarity (score = 1 - cosine distance)."""
        collection = self._open()
        count = collection.count()
        if k < 1 or count == 0:
            return []
        result = collection.query(
            query_embeddings=[list(embedding)],
            n_results=min(k, count),
            where=_where(where),
            include=["documents", "metadatas", "distances", "embeddings"],
        )
        hits = []
        for i, record_id in enumerate(result["ids"][0]):
            record = MemoryRecord(
                record_id,
                result["documents"][0][i],
                list(result["embeddings"][0][i]),
                dict(result["metadatas"][0][i] or {}),
            )
            hits.append(MemoryHit(record, 1.0 - float(result["distances"][0][i])))
        return hits

    def get(self, ids: Sequence[str]) -> list[MemoryRecord]:
        """Records by id, in the order asked; unknown ids skipped."""
        if not ids:
            return []
        result = self._open().get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        found = {
            record_id: MemoryRecord(
                record_id, result["documents"][i], list(result["embeddings"][i]),
                dict(result["metadatas"][i] or {}),
            )
            for i, record_id in enumerate(result["ids"])
        }
        return [found[i] for i in ids if i in found]

    def delete(self, ids: Sequence[str]) -> None:
        """Forget records; unknown ids are ignored."""
        if ids:
            self._open().delete(ids=list(ids))

    def count(self) -> int:
        """How many records are stored."""
        return int(self._open().count())


def _where(where: Mapping[str, MetadataValue] | None) -> dict[str, Any] | None:
    if not where:
        return None
    clauses = [{key: {"$eq": value}} for key, value in where.items()]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
