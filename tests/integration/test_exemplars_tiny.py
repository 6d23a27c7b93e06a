"""End to end on the tiny MLX model: a correction helps the very next similar question, before any
retraining — the corrected text is in the messages the model was sent (the stored faithful turn)."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from evotr.container import build_container
from evotr.domain.conversation import Role
from evotr.entrypoints.library import assistant_for
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

pytestmark = pytest.mark.integration

CORRECTION = "sorted(liste) yeni bir sıralı liste döndürür."


def test_a_correction_is_in_the_tiny_models_prompt_for_the_next_similar_question(tmp_path: Path) -> None:
    tiny = ensure_tiny_model(tmp_path / "tiny")
    container = build_container(home=tmp_path / "home", env={}, model=str(tiny))
    settings = container.settings()
    # Hashing embedder and the in-memory store keep it fast; the model and SQLite are real.
    memory = attrs.evolve(settings.memory, embedder="hashing")
    sampling = attrs.evolve(settings.sampling, max_tokens=4)
    container.settings.override(attrs.evolve(settings, memory=memory, sampling=sampling))
    container.config.memory.embedder.override("hashing")
    container.config.backends.vector_store.override("memory")
    container.config.backends.classifier.override("memory")
    assistant = assistant_for(container, source="cli", warm_up=False)

    first = assistant.chat("Python'da bir liste nasıl sıralanır?")
    assistant.feedback(None, ("correction", CORRECTION))
    assistant.reset()
    second = assistant.chat("Python'da liste nasıl sıralanır?")

    assert second.intent == first.intent
    sent = container.storage.feedback_repository().get_turn(second.turn_id).messages
    assert [m.content for m in sent if m.role is Role.ASSISTANT] == [CORRECTION]
    assert sent[-1].content == "Python'da liste nasıl sıralanır?" and sent[0].role is Role.SYSTEM
    assert second.as_dict()["exemplar_ids"] == [f"x-{first.turn_id}"]
