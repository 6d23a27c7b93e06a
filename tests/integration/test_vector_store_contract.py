"""The VectorStore contract, on the in-memory store, Chroma's PersistentClient and a `chroma run` server.

The server is started once for this module (``chroma run --host 127.0.0.1 --port <free> --path
<tmp>``, the chromadb package's own CLI) and each test gets a fresh collection on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from evotr.domain.errors import DomainValidationError
from evotr.domain.intents import Intent
from evotr.domain.memory import MemoryKind, MemoryMetadata, MemoryRecord
from evotr.infrastructure.chroma.client import ChromaClient
from evotr.infrastructure.chroma.vector_store import ChromaVectorStore
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore
from evotr.ports.vector_store import VectorStore
from tests.chroma_server import chroma_server  # noqa: F401 - a module-scoped fixture

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


@pytest.fixture(params=["memory", "chroma", "chroma-server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    if request.param == "memory":
        yield InMemoryVectorStore()
    elif request.param == "chroma":
        yield ChromaVectorStore(tmp_path / "chroma")
    else:
        url = request.getfixturevalue("chroma_server")
        yield ChromaVectorStore(ChromaClient(tmp_path, url), f"memories-{uuid.uuid4().hex[:8]}", "hashing")


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


def test_nearest_ranks_like_query_but_returns_no_vectors(store: VectorStore) -> None:
    store.upsert(records())
    query = EMBEDDER.embed(["adım Kaan"])[0]
    near = store.nearest(query, 3)
    full = store.query(query, 3)
    assert [h.record.id for h in near] == [h.record.id for h in full]
    assert [h.score for h in near] == pytest.approx([h.score for h in full], abs=1e-4)
    assert all(h.record.embedding == () and h.record.text and h.record.metadata for h in near)
    with pytest.raises(DomainValidationError, match="no embedding"):
        store.upsert([near[0].record])  # a ranking result cannot be written back
    assert store.nearest(query, 0) == []


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


def test_find_filters_and_pages_in_write_order(store: VectorStore) -> None:
    store.upsert(records())
    assert [r.id for r in store.find()] == ["m1", "m2", "m3", "m4"]
    assert [r.id for r in store.find({"session": "b"})] == ["m3", "m4"]
    assert [r.id for r in store.find(limit=2, offset=1)] == ["m2", "m3"]
    assert store.find({"session": "zzz"}) == []
    # A replaced record is the newest write.
    store.upsert([MemoryRecord("m1", "Benim adım Kaan", EMBEDDER.embed(["Kaan"])[0], {"session": "a"})])
    assert [r.id for r in store.find()] == ["m2", "m3", "m4", "m1"]
    assert store.find(limit=1)[0].embedding == pytest.approx(records()[1].embedding, abs=1e-6)


def test_update_metadata_merges_keys_and_keeps_the_rest(store: VectorStore) -> None:
    store.upsert(records())
    store.update_metadata({"m2": {"recall_count": 3, "session": "z"}, "ghost": {"x": 1}, "m3": {}})
    (m2,) = store.get(["m2"])
    assert dict(m2.metadata) == {"session": "z", "intent": "code_python", "recall_count": 3}
    assert m2.text == TEXTS["m2"][0] and m2.embedding == pytest.approx(records()[1].embedding, abs=1e-6)
    assert store.count() == 4 and store.get(["ghost"]) == []
    assert [r.id for r in store.find({"session": "z"})] == ["m2"]
    assert [r.id for r in store.find()] == ["m1", "m2", "m3", "m4"]  # an update is not a new write


def test_memory_metadata_round_trips_and_filters(store: VectorStore) -> None:
    fact = MemoryMetadata("s1", MemoryKind.FACT, 1_700_000_000.5, Intent.GENERAL_CHAT)
    exchange = MemoryMetadata("s1", "exchange", 1_700_000_100.0, extra={"turn": "t-9"})
    text = "Benim adım Kaan"
    store.upsert([MemoryRecord("f", text, EMBEDDER.embed([text])[0], fact.to_metadata()),
                  MemoryRecord("e", text + "?", EMBEDDER.embed([text])[0], exchange.to_metadata())])
    hits = store.query(EMBEDDER.embed(["adım"])[0], k=5, where={"kind": "fact", "session": "s1"})
    assert [h.record.id for h in hits] == ["f"]
    store.update_metadata({"f": fact.recalled(1_700_000_200.0).to_metadata()})
    back = MemoryMetadata.from_metadata(store.get(["f"])[0].metadata)
    assert back == MemoryMetadata("s1", "fact", 1_700_000_000.5, "general_chat", 1, 1_700_000_200.0)
    assert MemoryMetadata.from_metadata(store.get(["e"])[0].metadata) == exchange


def test_repeated_reads_see_every_write(store: VectorStore) -> None:
    """The embedded store keeps what it read (record_cache.py): upserts, metadata merges and
    deletes made after a read must show in the next nearest() and find()."""
    store.upsert(records())
    query = EMBEDDER.embed(["adım Kaan"])[0]
    assert store.nearest(query, 4)[0].record.metadata["session"] == "a"
    assert [r.id for r in store.find({"session": "b"})] == ["m3", "m4"]
    store.update_metadata({"m1": {"recall_count": 3}, "m3": {"session": "c"}})
    assert store.nearest(query, 4)[0].record.metadata == {**TEXTS["m1"][1], "recall_count": 3}
    assert [r.id for r in store.find({"session": "b"})] == ["m4"]
    assert [r.id for r in store.find({"session": "c"})] == ["m3"]
    store.upsert([MemoryRecord("m1", "Benim adım Kaan Yılmaz", EMBEDDER.embed(["Benim adım Kaan Yılmaz"])[0],
                               {"session": "b"})])
    assert store.nearest(query, 4)[0].record.text == "Benim adım Kaan Yılmaz"
    assert [r.id for r in store.find({"session": "b"})] == ["m4", "m1"]
    store.delete(["m4"])
    assert [r.id for r in store.find({"session": "b"})] == ["m1"]
    assert "m4" not in [h.record.id for h in store.nearest(query, 4)]
