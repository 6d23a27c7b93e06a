"""<home>/router/learned.jsonl: appended once per label, the latest label wins, damage is one line;
and `/correct --intent X` in chat stores X and the message."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from evotr.container import Container, build_container
from evotr.domain.errors import EvoTrError
from evotr.domain.intents import Intent
from evotr.entrypoints.cli.chat_repl import Repl
from evotr.infrastructure.memory.learned_routes import InMemoryLearnedRoutes
from evotr.infrastructure.router.dataset import RouterDataError
from evotr.infrastructure.router.learned import LearnedRoutesFile, with_learned
from evotr.ports.learned_routes import LearnedRoutes

pytestmark = pytest.mark.integration


@pytest.fixture(params=["file", "memory"])
def learned(request: pytest.FixtureRequest, tmp_path: Path) -> LearnedRoutes:
    if request.param == "file":
        return LearnedRoutesFile(tmp_path / "router" / "learned.jsonl")
    return InMemoryLearnedRoutes()


def test_a_label_is_written_once_and_a_later_label_replaces_it(learned: LearnedRoutes) -> None:
    assert isinstance(learned, LearnedRoutes)
    assert learned.add("Osmanlı mutfağı", Intent.HISTORY) is True
    assert learned.add("  osmanli   MUTFAĞI ", Intent.HISTORY) is False  # folded: the same message
    assert learned.add("Kedim miyavlıyor", Intent.SCIENCE) is True
    assert learned.add("Osmanlı mutfağı", Intent.TURKISH_CULTURE) is True
    assert list(learned.examples()) == [("Osmanlı mutfağı", Intent.TURKISH_CULTURE),
                                        ("Kedim miyavlıyor", Intent.SCIENCE)]


def test_the_file_survives_a_cut_off_last_line_and_names_a_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "learned.jsonl"
    path.write_text('{"text": "Selam", "intent": "general_chat"}\n{"text": "Kes', "utf-8")
    learned = LearnedRoutesFile(path)
    assert learned.examples() == [("Selam", Intent.GENERAL_CHAT)]  # the unfinished write is ignored
    assert learned.add("Fizik nedir", Intent.SCIENCE)
    texts = [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]
    assert texts == ["Selam", "Fizik nedir"]
    path.write_text('{"text": "Selam", "intent": "greeting"}\n', "utf-8")
    with pytest.raises(RouterDataError) as caught:
        learned.examples()
    assert f"{path}:1" in str(caught.value) and "general_chat" in str(caught.value)


def test_learned_labels_override_the_intents_file() -> None:
    examples = {Intent.GENERAL_CHAT: ("Osmanlı mutfağı", "Selam"), Intent.HISTORY: ("Fatih kimdir",)}
    merged = with_learned(examples, [("osmanli mutfagi", Intent.HISTORY)])
    assert merged[Intent.GENERAL_CHAT] == ["Selam"]
    assert merged[Intent.HISTORY] == ["Fatih kimdir", "osmanli mutfagi"]


@pytest.fixture
def container(tmp_path: Path) -> Container:
    built = build_container(home=tmp_path / "home", env={})
    for port in ("llm", "classifier", "vector_store"):
        getattr(built.config.backends, port).override("memory")
    built.use_cases.init_home().execute()
    return built


def test_chat_correct_with_intent_stores_it_and_the_message(container: Container, tmp_path: Path) -> None:
    out = io.StringIO()
    repl = Repl(container.use_cases.assistant(source="cli"), out)
    repl.run(["Kedim neden miyavlıyor?", "/correct --intent science Kediler iletişim için miyavlar.",
              "/correct --intent tarih Yanlış", "/correct --intent science"])
    printed = out.getvalue()
    assert "düzeltme kaydedildi" in printed and "valid: general_chat" in printed and "usage" in printed
    repository = container.storage.feedback_repository()
    (feedback,) = repository.list_feedback()
    assert (feedback.intent, feedback.correction) == (Intent.SCIENCE, "Kediler iletişim için miyavlar.")
    learned = (tmp_path / "home" / "router" / "learned.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in learned] == [
        {"text": "Kedim neden miyavlıyor?", "intent": "science"}]


def test_an_intent_on_a_thumbs_up_is_refused(container: Container) -> None:
    assistant = container.use_cases.assistant(source="library")
    assistant.chat("Merhaba")
    with pytest.raises(EvoTrError, match="only a correction names an intent"):
        assistant.feedback(None, "thumbs_up", intent="science")
    assert container.storage.feedback_repository().list_feedback() == []
