"""Recall searches along the query map's vector; what is stored keeps the embedder's own."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from evotr.application.memory import RecallMemory, RememberTurn, SearchMemories
from evotr.domain.memory import MemoryMetadata, MemoryRecord
from evotr.domain.memory_rules import ACTIVE, STATUS, MemoryPolicy
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore
from evotr.ports.query_map import QueryMap
from tests.fakes.recording_embedder import RecordingEmbedder

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
        self.also: list[list[str]] = []

    @property
    def name(self) -> str:
        return "towards-text"

    @property
    def reads_text(self) -> bool:
        return False

    def adapt(self, vector: Sequence[float], text: str | None = None,
              also: Sequence[str] = ()) -> list[float]:
        self.seen.append(list(vector))
        self.texts.append(text)
        self.also.append(list(also))
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



class ReadsWords(TowardsText):
    """A map that reads only the question's words (as the query tower does)."""

    @property
    def reads_text(self) -> bool:
        return True


def test_a_map_that_reads_the_words_leaves_the_plain_vector_to_the_writer() -> None:
    embedder = RecordingEmbedder()
    store = _store(embedder)
    towards = ReadsWords(embedder, ANSWER)
    embedder.batches.clear()
    message = "Benim adım Kaan"  # all one fact: its vector is the message's
    recollection = RecallMemory(store, embedder, MemoryPolicy(), query_map=towards,
                                also_embed=lambda text: [text.lower()]).execute("s", message)
    # Neither the message nor the router's spelling was embedded plainly in the turn.
    assert embedder.batches and all(message not in b and message.lower() not in b for b in embedder.batches)
    # The map got the message and the router's spelling of it, to embed in one call.
    assert towards.texts[-1] == message and towards.also[-1] == [message.lower()]
    assert recollection.vector == () and [v for _f, v in recollection.facts] == [()]
    remember = RememberTurn(store, MemoryPolicy(), embedder=embedder)
    (written,) = remember.execute(recollection, "Memnun oldum!", "s")
    plain = embedder.embed([message])[0]
    assert list(store.get([written])[0].embedding) == plain  # made after the turn, stored as before


def test_the_writer_without_an_embedder_refuses_a_recollection_without_a_vector() -> None:
    embedder = HashingEmbedder()
    store = _store(embedder)
    recollection = RecallMemory(store, embedder, MemoryPolicy(),
                                query_map=ReadsWords(embedder, ANSWER)).execute("s", "Benim adım Kaan")
    before = store.count()
    with pytest.raises(ValueError, match="no vector"):
        RememberTurn(store, MemoryPolicy()).execute(recollection, "Memnun oldum!", "s")
    assert store.count() == before
