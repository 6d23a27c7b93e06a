"""The VectorStore port on one Chroma collection (cosine space, our own embeddings, batched writes)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from evotr.domain.memory import MemoryHit, MemoryRecord, MetadataValue
from evotr.domain.relevance.encoding import FEATURES_KEY, stored_terms
from evotr.infrastructure.chroma.client import ChromaClient
from evotr.infrastructure.chroma.record_cache import Entry, RecordCache, find_key
from evotr.infrastructure.chroma.resident import Page, ResidentIndex, load_in_background
from evotr.infrastructure.chroma.rows import present as _present
from evotr.infrastructure.chroma.rows import record as _record
from evotr.infrastructure.chroma.rows import records as _records
from evotr.infrastructure.chroma.rows import where as _where
from evotr.ports.vector_store import VectorStore

# The two collections of a home: what the user told us, and the few-shot exemplars of each intent.
MEMORIES, EXEMPLARS = "memories", "exemplars"
_RECORD_FIELDS = ["documents", "metadatas", "embeddings"]


class ChromaVectorStore(VectorStore):
    """One collection of a :class:`ChromaClient`; opened on first use, never at construction.

    ``embedder`` names the model whose vectors the collection holds (``memory.embedder``):
    opening a collection written by another model is refused. ``resident`` False: searches
    always go to Chroma, never to the resident index (tests that count Chroma's calls).
    """

    def __init__(self, client: ChromaClient | Path, collection: str = MEMORIES,
                 embedder: str = "unknown", resident: bool = True) -> None:
        self._client = client if isinstance(client, ChromaClient) else ChromaClient(client)
        self._name = collection
        self._embedder = embedder
        self._collection: Any = None
        self._batch = 0
        self._lock = threading.Lock()
        # Embedded Chroma only: with a server other clients write too (record_cache.py says why).
        self._cache = RecordCache() if self._client.embedded else None
        # The vectors in NumPy, searched without a Chroma call (resident.py); embedded only too.
        self._index = ResidentIndex() if self._client.embedded and resident else None
        self._version = self._client.version
        self._epoch: int | None = None
        self._generation = 0

    def _open(self) -> Any:
        # After another process wrote the folder the client is reopened (client.follow): a
        # collection of the old client would search its stale in-memory index.
        generation = self._client.follow()
        with self._lock:
            if self._collection is None or generation != self._generation:
                self._collection = self._client.collection(self._name, self._embedder)
                self._batch = self._client.max_batch_size()
                self._generation = generation
            return self._collection

    def _call(self, collection: Any, action: Callable[..., Any]) -> Any:
        """``action(collection)`` through the client; once more on the reopened collection if
        the client was reopened since ``collection`` was opened (client.follow closes the old
        one; another thread may already have opened the new one: seen in CI as a closed
        client's missing ``bindings``)."""
        try:
            return self._client.run(lambda: action(collection))
        except Exception:
            with self._lock:
                current = collection is self._collection and self._generation == self._client.generation
            if current:
                raise
        fresh = self._open()
        return self._client.run(lambda: action(fresh))

    def _batches(self, n: int) -> Iterator[slice]:
        for start in range(0, n, self._batch):
            yield slice(start, start + self._batch)

    def upsert(self, records: Sequence[MemoryRecord]) -> None:
        """Add or replace records by id, in batches under the client's limit.

        Metadata is replaced, not merged as Chroma's upsert would; a replaced record counts as
        the newest write.
        """
        records = [r.require_vector() for r in records]
        collection = self._open()
        for part in self._batches(len(records)):
            batch = records[part]
            ids = [r.id for r in batch]
            kept = {r.id: MemoryRecord(r.id, r.text, (), r.metadata) for r in batch}
            with self._writing(ids, [r.metadata for r in batch], kept, [r.embedding for r in batch]):
                self._call(collection, lambda c, ids=ids: c.delete(ids=ids))
                self._call(collection, lambda c, ids=ids, batch=batch: c.add(
                    ids=ids, embeddings=[list(r.embedding) for r in batch],
                    documents=[r.text for r in batch], metadatas=[dict(r.metadata) or None for r in batch],
                ))

    def query(
        self, embedding: Sequence[float], k: int, where: Mapping[str, MetadataValue] | None = None
    ) -> list[MemoryHit]:
        """Top ``k`` by cosine similarity (score = 1 - cosine distance) among records matching ``where``."""
        if k < 1:
            return []
        collection = self._open()
        result = self._call(collection, lambda c: c.query(
            query_embeddings=[list(embedding)], n_results=k, where=_where(where),
            include=[*_RECORD_FIELDS, "distances"],
        ))
        rows = _present(result["ids"][0], result["documents"][0], result["metadatas"][0],
                        result["embeddings"][0], result["distances"][0])
        return [MemoryHit(_record(i, doc, meta, vector), 1.0 - float(d)) for i, doc, meta, vector, d in rows]

    def nearest(self, embedding: Sequence[float], k: int, terms: Sequence[str] = ()) -> list[MemoryHit]:
        """The top ``k`` by cosine, without their vectors: Chroma reads each returned record at
        ~0.15 ms and its vector at ~0.07 ms more, and ranking needs only text, metadata, score.
        Embedded, the search returns ids and distances only and the records come from the
        process's cache (read once, see record_cache.py). With the resident index loaded, the
        records saying a rare one of ``terms`` follow (rare_terms.py); Chroma's own search
        (a server, a store over the index's limit, before the load) offers none."""
        if k < 1:
            return []
        collection = self._open()
        cache = self._fresh_cache()
        if cache is None:
            result = self._call(collection, lambda c: c.query(
                query_embeddings=[list(embedding)], n_results=k,
                include=["documents", "metadatas", "distances"]))
            return [MemoryHit(MemoryRecord(i, doc, (), dict(meta or {})), 1.0 - float(d))
                    for i, doc, meta, d in zip(result["ids"][0], result["documents"][0],
                                               result["metadatas"][0], result["distances"][0], strict=True)
                    if doc is not None]  # see _present
        generation = cache.generation
        ids, distances = self._search(collection, embedding, k, terms)
        entries = cache.entries(ids)
        missing = [i for i in ids if i not in entries]
        if missing:
            missing = [i for i in missing if i not in cache.absent(missing)]
        if missing:
            read = self._call(collection, lambda c: c.get(ids=missing, include=["documents", "metadatas"]))
            fresh = {i: MemoryRecord(i, doc, (), dict(meta or {}))
                     for i, doc, meta in zip(read["ids"], read["documents"], read["metadatas"], strict=True)}
            cache.put(generation, fresh, absent=set(missing) - fresh.keys())
            entries.update(fresh)
        # An id deleted between the search and the read, or by another process (Chroma's
        # in-memory index still returns those), is skipped.
        return [MemoryHit(entries[i], 1.0 - float(d))
                for i, d in zip(ids, distances, strict=True) if i in entries]

    def get(self, ids: Sequence[str]) -> list[MemoryRecord]:
        """Records by id, in the order asked; unknown ids skipped."""
        if not ids:
            return []
        collection = self._open()
        result = self._call(collection, lambda c: c.get(ids=list(ids), include=_RECORD_FIELDS))
        found = {r.id: r for r in _records(result["ids"], result["documents"], result["metadatas"],
                                           result["embeddings"])}
        return [found[i] for i in ids if i in found]

    def find(
        self, where: Mapping[str, MetadataValue] | None = None, limit: int | None = None, offset: int = 0
    ) -> list[MemoryRecord]:
        """Records matching every ``where`` item, oldest write first, from ``offset``, at most ``limit``."""
        collection = self._open()

        def read() -> list[MemoryRecord]:
            result = self._call(collection, lambda c: c.get(
                where=_where(where), limit=limit, offset=offset or None, include=_RECORD_FIELDS
            ))
            return _records(result["ids"], result["documents"], result["metadatas"], result["embeddings"])

        # Filtered finds are recall's slot lookups (~3 ms at 10,000 each); listing pages are not kept.
        cache = self._fresh_cache() if where else None
        if cache is None:
            return read()
        return cache.find(find_key(where, limit, offset), read)

    def update_metadata(self, updates: Mapping[str, Mapping[str, MetadataValue]]) -> None:
        """Merge keys into each record's metadata (Chroma's update merges); unknown ids skipped."""
        if not updates:
            return
        collection = self._open()
        # Chroma's update of an unknown id is a silent no-op; skipping them here makes that explicit.
        known = set(self._call(collection, lambda c: c.get(ids=list(updates), include=[]))["ids"])
        items = [(i, dict(m)) for i, m in updates.items() if i in known and m]
        for part in self._batches(len(items)):
            batch = items[part]
            cache = self._fresh_cache()
            if cache is not None:
                cache.updated(dict(batch), done=False)
            try:
                with self._own_write():
                    self._call(collection, lambda c, batch=batch: c.update(
                        ids=[i for i, _ in batch], metadatas=[m for _, m in batch]
                    ))
            finally:
                if cache is not None:
                    cache.updated(dict(batch), done=True)
            retagged = {i: stored_terms(m) for i, m in batch if FEATURES_KEY in m}
            if self._index is not None and retagged:
                self._index.retag(retagged)

    def delete(self, ids: Sequence[str]) -> None:
        """Forget records, in batches; unknown ids are ignored."""
        collection = self._open()
        for part in self._batches(len(ids)):
            batch = list(ids[part])
            with self._writing(batch):
                self._call(collection, lambda c, batch=batch: c.delete(ids=batch))

    def _search(self, collection: Any, embedding: Sequence[float], k: int,
                terms: Sequence[str] = ()) -> tuple[list[str], list[float]]:
        """Ids and cosine distances of the ``k`` nearest (and of those saying a rare term): from the
        resident index once loaded (resident.py; its load starts with the second search), else Chroma."""
        found = None if self._index is None else self._index.search(embedding, k, terms)
        if found is not None:
            return found
        if self._index is not None and self._index.wants_load():
            load_in_background(self._index, self.count, self._all_ids, self._read_page)
        result = self._call(collection, lambda c: c.query(
            query_embeddings=[list(embedding)], n_results=k, include=["distances"]))
        return result["ids"][0], result["distances"][0]

    def _all_ids(self) -> list[str]:
        return list(self._call(self._open(), lambda c: c.get(include=[]))["ids"])

    def _read_page(self, ids: list[str]) -> Page:
        """The index loader's read: ids, vectors and stored terms, and the records into the
        cache meanwhile (the search's records then need no read of their own)."""
        cache = self._fresh_cache()
        generation = None if cache is None else cache.generation
        read = self._call(self._open(), lambda c: c.get(ids=ids, include=_RECORD_FIELDS))
        if cache is not None and generation is not None:
            cache.put(generation, {i: MemoryRecord(i, doc, (), dict(meta or {})) for i, doc, meta
                                   in zip(read["ids"], read["documents"], read["metadatas"], strict=True)})
        return list(read["ids"]), read["embeddings"], [stored_terms(m) for m in read["metadatas"]]

    @contextlib.contextmanager
    def _writing(self, ids: Sequence[str], metadatas: Sequence[Mapping[str, MetadataValue]] = (),
                 stored: Mapping[str, Entry] | None = None,
                 vectors: Sequence[Sequence[float]] | None = None) -> Iterator[None]:
        """Around an upsert (``vectors`` given) or delete: the cache forgets what it changes
        before (readers now read Chroma) and after (a read overlapping the write is not kept),
        then keeps what an upsert wrote; the resident index follows Chroma's commit, or is
        dropped if the write failed (what it left is unknown)."""
        cache = self._fresh_cache()
        if cache is not None:
            cache.written(ids, metadatas)
        ok = False
        try:
            with self._own_write():
                yield
            ok = True
        finally:
            if cache is not None:
                cache.written(ids, metadatas, stored if ok else None)
            if self._index is not None:
                if not ok:
                    self._index.invalidate()
                elif vectors is None:
                    self._index.remove(ids)
                else:
                    self._index.put(ids, vectors, [stored_terms(m) for m in metadatas])

    def _own_write(self) -> contextlib.AbstractContextManager[None]:
        """A write of this process, which the version check must not take for another's."""
        return self._version.writing() if self._version is not None else contextlib.nullcontext()

    def _fresh_cache(self) -> RecordCache | None:
        """The cache, emptied first if another process wrote the store since it was filled
        (version.py: ~10 µs a check)."""
        if self._cache is None or self._version is None:
            return self._cache
        epoch = self._version.epoch()
        if epoch != self._epoch:
            self._cache.clear()
            if self._index is not None:
                self._index.invalidate()
            self._epoch = epoch
        return self._cache

    def count(self) -> int:
        """How many records are stored."""
        collection = self._open()
        return int(self._call(collection, lambda c: c.count()))

