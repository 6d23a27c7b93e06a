"""The in-memory backends behave like their ports promise."""

from __future__ import annotations

import asyncio
import json
import struct
from pathlib import Path

import pytest

from evotr.domain.adapters import AdapterVersion
from evotr.domain.generation import GenerationRequest
from evotr.domain.intents import ALL_INTENTS, Intent, RoutingPolicy
from evotr.domain.memory import MemoryRecord
from evotr.domain.training import TrainingJob
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.generator import InMemoryGenerator
from evotr.infrastructure.memory.intent_classifier import InMemoryIntentClassifier
from evotr.infrastructure.memory.trainer import InMemoryTrainer
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore
from evotr.ports.embedder import Embedder
from evotr.ports.generator_api import GeneratorAPI
from evotr.ports.intent_classifier import IntentClassifier
from evotr.ports.trainer import Trainer
from evotr.ports.vector_store import VectorStore

pytestmark = pytest.mark.unit

EXAMPLES = {
    Intent.HISTORY: ["Osmanlı tarihi anlat", "İstanbul'un fethi ne zaman oldu", "savaş tarihi"],
    Intent.CODE_PYTHON: ["Python liste oluştur", "python fonksiyon yaz", "python sınıf tanımla"],
    Intent.GENERAL_CHAT: ["merhaba nasılsın", "günaydın", "teşekkürler"],
}


def test_every_in_memory_backend_satisfies_its_port() -> None:
    assert isinstance(InMemoryIntentClassifier(), IntentClassifier)
    assert isinstance(HashingEmbedder(), Embedder)
    assert isinstance(InMemoryVectorStore(), VectorStore)
    assert isinstance(InMemoryGenerator(), GeneratorAPI)
    assert isinstance(InMemoryTrainer(), Trainer)


def test_classifier_is_uniform_before_fit_and_learns_from_examples() -> None:
    classifier = InMemoryIntentClassifier()
    assert set(classifier.probabilities("x").values()) == {1 / len(ALL_INTENTS)}
    classifier.fit(EXAMPLES)
    probs = classifier.probabilities("Osmanli tarihi")
    assert max(probs, key=lambda i: probs[i]) is Intent.HISTORY
    assert sum(probs.values()) == pytest.approx(1.0)
    decision = RoutingPolicy(threshold=0.0).decide(classifier.probabilities("PYTHON LİSTE"))
    assert decision.intent is Intent.CODE_PYTHON


def test_classifier_folds_turkish_spelling() -> None:
    classifier = InMemoryIntentClassifier()
    classifier.fit(EXAMPLES)
    assert classifier.probabilities("nasilsin") == classifier.probabilities("NASILSIN")


def test_embedder_is_deterministic_normalised_and_similarity_aware() -> None:
    embedder = HashingEmbedder(dimension=128)
    a, b, c = embedder.embed(["Benim adım Kaan", "benim adim kaan", "Python listeleri"])
    assert len(a) == 128
    assert sum(x * x for x in a) == pytest.approx(1.0)
    assert a == b
    assert sum(x * y for x, y in zip(a, c, strict=True)) < 0.9


def test_vector_store_ranks_by_similarity_and_filters() -> None:
    embedder = HashingEmbedder(64)
    store = InMemoryVectorStore()
    texts = {"m1": "Benim adım Kaan", "m2": "Python liste örneği", "m3": "Kaan çay sever"}
    store.upsert([MemoryRecord(k, t, embedder.embed([t])[0], {"session": k[-1]}) for k, t in texts.items()])
    hits = store.query(embedder.embed(["adım Kaan"])[0], k=2)
    assert hits[0].record.id == "m1"
    assert hits[0].score >= hits[1].score
    assert [h.record.id for h in store.query(hits[0].record.embedding, 5, {"session": "3"})] == ["m3"]
    store.delete(["m1"])
    assert store.count() == 2 and store.get(["m1", "m2"])[0].id == "m2"


def test_vector_store_rejects_mixed_dimensions() -> None:
    store = InMemoryVectorStore()
    store.upsert([MemoryRecord("a", "x", [1.0, 0.0])])
    with pytest.raises(ValueError, match="dimensions"):
        store.upsert([MemoryRecord("b", "y", [1.0, 0.0, 0.0])])


def test_generator_answers_json_and_records_requests() -> None:
    generator = InMemoryGenerator()
    request = GenerationRequest(prompt="Türkçe bir soru üret", model="gemma-3-27b-it")
    result = asyncio.run(generator.generate(request))
    sample = json.loads(result.text)
    assert set(sample) == {"user", "assistant"}
    assert result.usage.prompt_tokens == len(request.prompt.split())
    assert generator.requests == [request]


def test_trainer_writes_an_mlx_lm_shaped_adapter(tmp_path: Path) -> None:
    trainer = InMemoryTrainer()
    job = TrainingJob(AdapterVersion.parse("tr_chat_v1"), "tiny", "data/training/x", rank=4, num_layers=2)
    metrics = trainer.train(job, tmp_path / "out")
    config = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert config["num_layers"] == 2 and config["lora_parameters"]["rank"] == 4
    raw = (tmp_path / "out" / "adapters.safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    assert json.loads(raw[8:8 + header_len])["__metadata__"]["trainer"] == "memory"
    assert metrics.improvement_pct == pytest.approx(50.0)
    assert trainer.jobs == [job]


def test_in_memory_workspace_creates_once() -> None:
    from evotr.infrastructure.memory.workspace import InMemoryWorkspace
    from evotr.ports.workspace import Workspace

    workspace = InMemoryWorkspace(Path("/virtual"))
    assert isinstance(workspace, Workspace)
    first = workspace.initialize()
    assert Path("/virtual") in first and workspace.initialize() == []
