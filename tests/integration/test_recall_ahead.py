"""A chat turn recalls on a worker thread while it routes: same answers, same errors, nothing left running."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from evotr.application.adapter_choice import AdapterChoice
from evotr.application.chat import ChatSession
from evotr.container import Container, build_container, container_for
from evotr.domain.adapters import AdapterFamily
from evotr.domain.errors import EvoTrError
from evotr.entrypoints.library import assistant_for
from evotr.infrastructure.chroma.errors import ChromaStoreError

pytestmark = pytest.mark.integration


def make(home: Path) -> Container:
    build_container(home=home, env={}).use_cases.init_home().execute()
    settings = build_container(home=home, env={}).settings()
    memory = attrs.evolve(settings.memory, embedder="hashing")
    container = container_for(attrs.evolve(settings, memory=memory))
    container.config.backends.llm.override("memory")
    container.config.backends.classifier.override("memory")
    return container


def test_recall_runs_off_the_main_thread_and_its_answer_is_used(tmp_path: Path) -> None:
    container = make(tmp_path / "home")
    assistant = assistant_for(container, source="cli", warm_up=False)
    assistant.chat("Benim adım Kaan")
    assistant.flush()
    threads: list[str] = []
    store = container.models.vector_store()
    nearest = store.nearest

    def seen(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return nearest(*args)

    store.nearest = seen  # type: ignore[method-assign]
    assistant.session = ChatSession()
    reply = assistant.chat("Adım ne?")
    assert threads and all(name.startswith("evotr-recall") for name in threads)
    [fact] = [v for v in container.memory.list_memories().execute(None, False) if v.kind == "fact"]
    assert fact.id in reply.memory_ids


def test_a_routing_failure_waits_for_recall_and_raises_its_own_error(tmp_path: Path) -> None:
    container = make(tmp_path / "home")
    assistant = assistant_for(container, source="cli", warm_up=False)
    assistant.chat("Benim adım Kaan")
    assistant.flush()
    store = container.models.vector_store()
    nearest = store.nearest
    done: list[bool] = []

    def slow(*args: Any) -> Any:
        time.sleep(0.2)  # still searching when routing has already failed
        found = nearest(*args)
        done.append(True)
        return found

    store.nearest = slow  # type: ignore[method-assign]
    with pytest.raises(EvoTrError, match="unknown family"):
        list(container.use_cases.chat_turn().execute(ChatSession(), "Adım ne?",
                                                     AdapterChoice("family", AdapterFamily("yok_boyle"))))
    assert done == [True]  # the turn waited for its recall before raising


def test_a_recall_failure_is_the_turns_error_and_stores_no_turn(tmp_path: Path) -> None:
    container = make(tmp_path / "home")
    store = container.models.vector_store()

    def broken(*_args: Any) -> Any:
        raise ChromaStoreError("the Chroma server went away")

    store.nearest = broken  # type: ignore[method-assign]
    with pytest.raises(ChromaStoreError, match="went away"):
        list(container.use_cases.chat_turn().execute(ChatSession(), "Adım ne?"))
    assert container.storage.feedback_repository().recent_turns() == []
