"""The VectorStore contract, on the in-memory store and on Chroma's PersistentClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evotr.domain.memory import MemoryRecord
from evotr.infrastructure.chroma.vector_store import ChromaVectorStore
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore
from evotr.ports.vector_store import VectorStore

pytestmark = pytest.mark.integration

EMBEDDER = HashingEmbedder(64)
TEXTS = {
    "m1": ("Benim adım Kaan", {"session": "a", "intent": "general_chat"}),
    "m2": ("Python'da liste nasıl oluşturulur", {"session": "a", "intent": "code_python"}),
    "m3": ("Kaan her sabah çay içer", {"session": "b", "intent": "general_chat"}),
    "m4": ("Osmanlı İmparatorluğu 1299'da kuruldu", {"session": "b", "intent": "history"}),
}


def records() -> list[MemoryRecord]:
    return [MemoryRecord(k, t, EMBEDDER.embed([t])[0], m) for k, (t, m) in TEXTS.items()]


@pytest.fixture(params=["memory", "chroma"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    yield InMemoryVectorStore() if request.param == "memory" else ChromaVectorStore(tmp_path / "chroma")


def test_satisfies_the_port(store: VectorStore) -> None:
    assert isinstance(store, VectorStore)


def test_query_ranks_the_most_similar_first(store: VectorStore) -> None:
    store.upsert(records())
    query = EMBEDDER.embed(["adım Kaan"])[0]
    hits = store.query(query, k=3)
    assert hits[0].record.id == "m1"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].score == pytest.approx(sum(a * b for a, b in zip(query, hits[0].record.embedding,
                                                                    strict=True)), abs=1e-4)


def test_where_filters_on_every_key(store: VectorStore) -> None:
    store.upsert(records())
    hits = store.query(EMBEDDER.embed(["Kaan"])[0], k=4, where={"intent": "general_chat", "session": "b"})
    assert [h.record.id for h in hits] == ["m3"]


def test_upsert_replaces_and_get_returns_stored_fields(store: VectorStore) -> None:
    store.upsert(records())
    new = MemoryRecord("m1", "Benim adım Kaan Yılmaz", EMBEDDER.embed(["Kaan Yılmaz"])[0], {"session": "c"})
    store.upsert([new])
    assert store.count() == 4
    (got,) = store.get(["m1"])
    assert (got.text, dict(got.metadata)) == (new.text, {"session": "c"})
    assert got.embedding == pytest.approx(new.embedding, abs=1e-6)


def test_delete_and_unknown_ids(store: VectorStore) -> None:
    store.upsert(records())
    store.delete(["m2", "nope"])
    assert store.count() == 3
    assert [r.id for r in store.get(["m2", "m3", "zzz"])] == ["m3"]


def test_empty_store_answers_nothing(store: VectorStore) -> None:
    assert store.query(EMBEDDER.embed(["x"])[0], k=5) == []


def test_chroma_persists_across_clients(tmp_path: Path) -> None:
    ChromaVectorStore(tmp_path / "chroma").upsert(records())
    reopened = ChromaVectorStore(tmp_path / "chroma")
    assert reopened.count() == 4
    assert reopened.get(["m4"])[0].text == TEXTS["m4"][0]
