"""Older memories (written before recall's wording numbers, or under another lexicon; or with
features and links of an older version) get today's from the background writer, a page per
remembered turn, so one store is ranked on one scale and recall need not work them out again."""

from __future__ import annotations

import pytest

from evotr.application.memory import RecallMemory, RememberTurn
from evotr.application.memory.backfill import RecordBackfill
from evotr.application.memory.ranking import features_metadata
from evotr.domain.memory import MemoryKind, MemoryMetadata, MemoryRecord
from evotr.domain.memory_rules import MemoryPolicy
from evotr.domain.relevance.encoding import FEATURES_KEY, decode
from evotr.domain.relevance.features import features
from evotr.domain.relevance.thesaurus import LINKS_KEY
from evotr.domain.relevance.wording import WORDING_KEY, decode_wording, encode_wording
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore

pytestmark = pytest.mark.unit


def _old_records(embedder: HashingEmbedder, count: int,
                 wording_value: str | None = None) -> list[MemoryRecord]:
    texts = [f"Eski anı {i}: hafta sonu {i}. kez bisiklete bindim." for i in range(count)]
    records = []
    for i, (text, vector) in enumerate(zip(texts, embedder.embed(texts), strict=True)):
        extra = {} if wording_value is None else {WORDING_KEY: wording_value}
        metadata = MemoryMetadata(f"s{i}", MemoryKind.EXCHANGE, float(i), None, extra=extra)
        records.append(MemoryRecord(f"old-{i}", text, tuple(vector), metadata.to_metadata()))
    return records


def test_a_page_per_step_until_every_old_record_has_its_numbers() -> None:
    embedder, store = HashingEmbedder(), InMemoryVectorStore()
    store.upsert(_old_records(embedder, 5))
    wording = RecallMemory(store, embedder, MemoryPolicy()).wording()
    backfill = RecordBackfill(store, page=2)
    assert [backfill.step(wording) for _ in range(4)] == [2, 2, 1, 0]
    assert backfill.done
    for record in store.find():
        assert record.metadata[WORDING_KEY] == encode_wording(record.embedding, wording)
        assert decode_wording(record.metadata[WORDING_KEY]) is not None


def test_valid_numbers_are_kept_and_another_lexicons_are_replaced() -> None:
    embedder, store = HashingEmbedder(), InMemoryVectorStore()
    wording = RecallMemory(store, embedder, MemoryPolicy()).wording()
    current = _old_records(embedder, 1)[0]
    value = encode_wording(current.embedding, wording)
    assert value is not None
    store.upsert(_old_records(embedder, 1, wording_value=value))
    store.upsert([MemoryRecord("stale", "Ankara'da yaşıyorum.", current.embedding,
                               {**current.metadata, WORDING_KEY: "00000000 0.1 0.2"})])
    RecordBackfill(store).step(wording)
    assert store.get([current.id])[0].metadata[WORDING_KEY] == value
    assert decode_wording(store.get(["stale"])[0].metadata[WORDING_KEY]) is not None


def test_features_and_links_of_an_older_version_are_written_again_and_current_ones_kept() -> None:
    embedder, store = HashingEmbedder(), InMemoryVectorStore()
    wording = RecallMemory(store, embedder, MemoryPolicy()).wording()
    text = "Geçen yıl Yasin okuttuk."
    vector = tuple(embedder.embed([text])[0])
    fresh = {**MemoryMetadata("s", MemoryKind.EXCHANGE, 1.0, None).to_metadata(),
             **features_metadata(features(text), vector, wording)}
    older = {**fresh, FEATURES_KEY: "2|gecen yil yasin okuttuk||||||", LINKS_KEY: "0000000 s:1"}
    store.upsert([MemoryRecord("fresh", text, vector, fresh), MemoryRecord("older", text, vector, older)])
    assert RecordBackfill(store).step(wording) == 1
    refreshed = store.get(["older"])[0].metadata
    assert decode(refreshed[FEATURES_KEY]) == features(text)
    assert refreshed[LINKS_KEY] == fresh[LINKS_KEY]
    assert store.get(["fresh"])[0].metadata == fresh


def test_nothing_happens_before_the_wording_is_known() -> None:
    embedder, store = HashingEmbedder(), InMemoryVectorStore()
    store.upsert(_old_records(embedder, 3))
    backfill = RecordBackfill(store)
    assert backfill.step(None) == 0
    assert not backfill.done
    assert all(WORDING_KEY not in r.metadata for r in store.find())


def test_remembering_a_turn_backfills_the_older_records() -> None:
    embedder, store, policy = HashingEmbedder(), InMemoryVectorStore(), MemoryPolicy()
    store.upsert(_old_records(embedder, 3))
    recall, remember = RecallMemory(store, embedder, policy), RememberTurn(store, policy)
    remember.execute(recall.execute("s1", "Bisiklete ne zaman bindim?"), "Hafta sonu.", "s1")
    assert all(decode_wording(r.metadata.get(WORDING_KEY)) is not None for r in store.find())
