"""Recall's use of the hybrid ranking: stored features, older records, the expansion, search."""

from __future__ import annotations

import pytest

from evotr.application.memory import RecallMemory, RememberTurn, SearchMemories
from evotr.application.memory.ranking import stored_features, user_words
from evotr.domain.memory import MemoryKind, MemoryMetadata, MemoryRecord
from evotr.domain.memory_rules import ACTIVE, STATUS, MemoryPolicy
from evotr.domain.relevance.encoding import FEATURES_KEY, decode
from evotr.domain.relevance.features import features
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore
from tests.fakes.recording_embedder import RecordingEmbedder

pytestmark = pytest.mark.unit

# Said by the user in earlier turns; none shares a word with the question below.
DISTRACTORS = [f"Bugün {n}. kez {w} izledim." for n, w in enumerate(["film", "dizi", "maç", "haber"] * 6)]


def _store(texts: list[str], embedder: HashingEmbedder, with_features: bool = True) -> InMemoryVectorStore:
    store = InMemoryVectorStore()
    records = []
    for i, text in enumerate(texts):
        extra = {STATUS: ACTIVE, **({FEATURES_KEY: _encoded(text)} if with_features else {})}
        meta = MemoryMetadata("old", MemoryKind.FACT, 1_700_000_000 + i, extra=extra).to_metadata()
        records.append(MemoryRecord(f"m{i}", text, embedder.embed([text])[0], meta))
    store.upsert(records)
    return store


def _encoded(text: str) -> str:
    from evotr.domain.relevance.encoding import encode

    return encode(features(text))


@pytest.mark.parametrize("with_features", [True, False])
def test_the_fact_is_found_by_its_kind_when_the_embedding_misses_it(with_features: bool) -> None:
    embedder = HashingEmbedder()
    store = _store([*DISTRACTORS, "Aslen Rizeliyim."], embedder, with_features)
    ranked = RecallMemory(store, embedder, MemoryPolicy(floor=0.0)).ranked("Memleketim neresi?")
    assert ranked[0].record.text == "Aslen Rizeliyim."
    # Plain similarity would not: the hashing embedder sees no shared trigram worth the name.
    by_cosine = store.query(embedder.embed(["Memleketim neresi?"])[0], 3)
    assert "Aslen Rizeliyim." not in [h.record.text for h in by_cosine]


def test_a_turn_embeds_its_message_and_the_kinds_wording_in_one_call_once() -> None:
    embedder = RecordingEmbedder()
    store = _store(DISTRACTORS, embedder)
    recall = RecallMemory(store, embedder, MemoryPolicy())
    embedder.batches.clear()
    recall.execute("s", "Memleketim neresi?")
    recall.execute("s", "Kedimin adı ne?")
    assert len(embedder.batches) == 2
    assert embedder.batches[0][0] == "Memleketim neresi?" and len(embedder.batches[0]) > 10  # + wording
    assert embedder.batches[1] == ["Kedimin adı ne?"]


def test_remember_stores_the_features_recall_reads_back() -> None:
    embedder = HashingEmbedder()
    store, policy = InMemoryVectorStore(), MemoryPolicy()
    recall, remember = RecallMemory(store, embedder, policy), RememberTurn(store, policy)
    # Over 120 characters: the exchange is kept besides its facts.
    message = ("Eşimin adı Ayşe, İzmir'de yaşıyoruz; bu hafta sonu kedimizi veterinere götürmemiz "
               "gerekiyor, aşılarının zamanı geldi, bir de mama almamız lazım.")
    remember.execute(recall.execute("s1", message), "Ne güzel!", "s1")
    records = store.find()
    assert records and all(decode(r.metadata.get(FEATURES_KEY)) is not None for r in records)
    name = next(r for r in records if r.metadata.get("slot") == "name")
    stored = decode(name.metadata[FEATURES_KEY])
    assert stored is not None and ("spouse", "ayse") in stored.aliases and "spouse" in stored.relations
    exchange = next(r for r in records if r.metadata.get("kind") == "exchange")
    assert user_words(exchange).startswith("Eşimin adı Ayşe")
    assert stored_features(exchange).terms == decode(exchange.metadata[FEATURES_KEY]).terms  # type: ignore[union-attr]


def test_search_ranks_as_recall_does_and_leaves_out_superseded_facts() -> None:
    embedder = HashingEmbedder()
    store = _store([*DISTRACTORS, "Aslen Rizeliyim.", "Aslen Trabzonluyum."], embedder)
    store.update_metadata({f"m{len(DISTRACTORS) + 1}": {STATUS: "superseded"}})
    found = SearchMemories(store, embedder).execute("Memleketim neresi?", k=3)
    assert found[0].text == "Aslen Rizeliyim." and "Aslen Trabzonluyum." not in [v.text for v in found]
    assert found[0].score is not None and found[0].score < 1.0
