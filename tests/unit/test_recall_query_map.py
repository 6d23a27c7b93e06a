"""Recall searches along the query map's vector; what is stored keeps the embedder's own."""

from __future__ import annotations

from collections.abc import Sequence

from evotr.application.memory import RecallMemory, SearchMemories
from evotr.domain.memory import MemoryMetadata, MemoryRecord
from evotr.domain.memory_rules import ACTIVE, STATUS, MemoryPolicy
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore
from evotr.ports.query_map import QueryMap

QUESTION = "Evcil hayvanımın adı neydi?"
ANSWER = "Köpeğim Karabaş çok oyuncu."
OTHER = "Evcil hayvan sahibi olmak istiyorum, adı neydi o dükkanın?"


class TowardsText(QueryMap):
    """A map that sends every question to where ``text`` lies (what a learned map does for the
    questions it learned: move them to their answers' wording)."""

    def __init__(self, embedder: HashingEmbedder, text: str) -> None:
        self._target = embedder.embed([text])[0]
        self.seen: list[list[float]] = []
        self.texts: list[str | None] = []

    @property
    def name(self) -> str:
        return "towards-text"

    def adapt(self, vector: Sequence[float], text: str | None = None) -> list[float]:
        self.seen.append(list(vector))
        self.texts.append(text)
        return list(self._target)


def _store(embedder: HashingEmbedder) -> InMemoryVectorStore:
    store = InMemoryVectorStore()
    texts = [ANSWER, OTHER]
    vectors = embedder.embed(texts)
    metadata = [MemoryMetadata("s", "exchange", 1000.0 - i, extra={STATUS: ACTIVE}).to_metadata()
                for i in range(len(texts))]
    store.upsert([MemoryRecord(f"m{i}", text, vector, meta)
                  for i, (text, vector, meta) in enumerate(zip(texts, vectors, metadata, strict=True))])
    return store


def test_the_map_decides_what_is_found_and_the_plain_vector_is_kept() -> None:
    embedder = HashingEmbedder()
    store = _store(embedder)
    plain = RecallMemory(store, embedder, MemoryPolicy()).ranked(QUESTION)
    assert plain[0].record.id == "m1"  # the words the question shares win without a map
    towards = TowardsText(embedder, ANSWER)
    recall = RecallMemory(store, embedder, MemoryPolicy(), query_map=towards)
    assert recall.ranked(QUESTION)[0].record.id == "m0"
    recollection = recall.execute("s", QUESTION)
    # The map got the message's own vector, and remembering will store that one, not the map's.
    assert towards.seen[-1] == embedder.embed([QUESTION])[0]
    # ... and the text that vector was embedded from (a query tower reads the words).
    assert towards.texts[-1] == QUESTION
    assert list(recollection.vector) == embedder.embed([QUESTION])[0]


def test_memory_search_uses_the_map_too() -> None:
    embedder = HashingEmbedder()
    store = _store(embedder)
    assert SearchMemories(store, embedder).execute(QUESTION, k=1)[0].id == "m1"
    assert SearchMemories(store, embedder, TowardsText(embedder, ANSWER)).execute(QUESTION, k=1)[0].id == "m0"

