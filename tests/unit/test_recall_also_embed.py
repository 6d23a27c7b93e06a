"""Recall embeds the router's texts in its own batched call (chat turn: one model call)."""

from __future__ import annotations

from evotr.application.memory import RecallMemory
from evotr.domain.memory_rules import MemoryPolicy
from evotr.domain.text import fold
from evotr.infrastructure.embeddings.cache import CachedEmbedder
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore
from tests.fakes.recording_embedder import RecordingEmbedder


def test_the_routers_spelling_goes_into_recalls_one_call_and_the_router_then_finds_it() -> None:
    inner = RecordingEmbedder()
    shared = CachedEmbedder(inner)
    recall = RecallMemory(InMemoryVectorStore(), shared, MemoryPolicy(), also_embed=lambda m: [fold(m)])
    message = "İstanbul'da yaşıyorum"
    recollection = recall.execute("s", message)
    assert len(inner.batches) == 1 and fold(message) in inner.batches[0]
    assert list(recollection.vector) == HashingEmbedder().embed([message])[0]
    # The router's batch (its folded spelling and the message) is now all cached: no model call.
    shared.embed([fold(message), message])
    assert len(inner.batches) == 1


def test_the_ngram_router_names_its_folded_spelling_only_when_it_embeds() -> None:
    from evotr.infrastructure.router.classifier import NgramIntentClassifier

    assert NgramIntentClassifier().spellings("Merhaba") == []  # untrained: no embedding
