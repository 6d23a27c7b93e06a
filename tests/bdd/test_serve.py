"""Steps for features/serve.feature: a real uvicorn and the openai SDK over the in-memory LLM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from click.testing import Result
from openai import OpenAI
from pytest_bdd import given, parsers, scenarios, then, when

from evotr.container import Container, build_container
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository
from tests.bdd.conftest import train_fake_adapter
from tests.bdd.serve_page_steps import *  # noqa: F403 (the web page's steps and its browser)
from tests.cli_homes import memory_llm_home
from tests.serve_fixtures import serving

pytestmark = pytest.mark.bdd
scenarios("serve.feature")


@pytest.fixture
def container(home: Path) -> Container:
    """The home on the in-memory LLM and classifier (fast); SQLite and the adapter store are real."""
    memory_llm_home(home)
    config = home / "evotr.yaml"
    config.write_text(config.read_text("utf-8").replace("classifier: ngram", "classifier: memory"), "utf-8")
    return build_container(home=home, env={})


@given(parsers.parse('a home where "{name}" is trained and promoted'))
def trained_and_promoted(container: Container, tmp_path: Path, name: str) -> None:
    container.use_cases.init_home().execute()
    container.use_cases.promote_adapter().execute(train_fake_adapter(container, tmp_path, name))


@pytest.fixture
def server(container: Container) -> Iterator[str]:
    with serving(container) as url:
        yield url


@given("the home is served over HTTP")
def served(server: str) -> None:
    assert httpx.get(f"{server}/health").json()["status"] == "ok"


@pytest.fixture
def client(server: str) -> OpenAI:
    return OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)


@given(parsers.parse('an OpenAI client asked "{text}" with model "{model}"'), target_fixture="answer")
@when(parsers.parse('an OpenAI client asks "{text}" with model "{model}"'), target_fixture="answer")
def ask(client: OpenAI, text: str, model: str) -> Any:
    try:
        return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
    except openai.APIStatusError as error:
        return error


@when(parsers.parse('an OpenAI client streams "{text}" with model "{model}"'), target_fixture="streamed")
def stream(server: str, client: OpenAI, text: str, model: str) -> dict[str, Any]:
    messages = [{"role": "user", "content": text}]
    chunks = list(client.chat.completions.create(model=model, messages=messages, stream=True))  # type: ignore[arg-type]
    body = {"model": model, "messages": messages, "stream": True}
    raw = httpx.post(f"{server}/v1/chat/completions", json=body)
    return {"chunks": chunks, "events": [line for line in raw.text.splitlines() if line]}


def _turns(home: Path) -> list[Any]:
    return SqliteFeedbackRepository(home / "evotr.db").recent_turns(limit=1000)


@then(parsers.parse('the answer is stored as a turn from "{source}"'))
def stored_from(home: Path, answer: Any, source: str) -> None:
    (turn,) = _turns(home)
    assert (turn.id, turn.reply, turn.source) == (answer.model_extra["evotr"]["turn_id"],
                                                 answer.choices[0].message.content, source)


@then("the answer names its intent, adapter and turn id")
def names_route(answer: Any) -> None:
    assert {"intent", "confidence", "fallback", "adapter", "turn_id"} <= set(answer.model_extra["evotr"])


@then("the pieces join into the stored answer")
def pieces_join(home: Path, streamed: dict[str, Any]) -> None:
    chunks = streamed["chunks"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    turn_id = chunks[-1].model_extra["evotr"]["turn_id"]
    assert len([c for c in chunks if c.choices[0].delta.content]) > 1
    assert next(t.reply for t in _turns(home) if t.id == turn_id) == text


@then(parsers.parse('the last event is "{event}"'))
def last_event(streamed: dict[str, Any], event: str) -> None:
    assert streamed["events"][-1] == event


@then(parsers.parse('the model was asked with adapter "{adapter}"'))
def asked_with(container: Container, answer: Any, adapter: str) -> None:
    _, used = container.models.llm().calls[-1]
    assert (used.name if used else "none") == adapter


@when("an OpenAI client lists the models", target_fixture="models")
def list_models(client: OpenAI) -> list[str]:
    return [m.id for m in client.models.list()]


@then(parsers.parse('the models are "{names}"'))
def models_are(models: list[str], names: str) -> None:
    assert models == names.split(", ")


@then(parsers.parse('the request is refused with status {status:d} naming "{param}"'))
def refused(answer: Any, status: int, param: str) -> None:
    assert isinstance(answer, openai.APIStatusError)
    assert answer.status_code == status and answer.body["param"] == param  # type: ignore[index]
    assert "evotr:tr_chat_v1" in answer.body["message"]  # type: ignore[index]


@then("nothing is stored")
def nothing_stored(home: Path) -> None:
    assert _turns(home) == []


@when(parsers.parse('the client sends "{kind}" on that answer'))
def send_feedback(server: str, answer: Any, kind: str) -> None:
    response = httpx.post(f"{server}/v1/feedback",
                          json={"turn_id": answer.model_extra["evotr"]["turn_id"], "kind": kind})
    assert response.status_code == 201, response.text


@then(parsers.parse("the stats count {up:d} thumbs up and {corrections:d} corrections"))
def stats_count(cli_result: Result, up: int, corrections: int) -> None:
    assert cli_result.exit_code == 0, cli_result.output
    stats = json.loads(cli_result.stdout)
    assert (stats["thumbs_up"], stats["corrections"]) == (up, corrections)


@when(parsers.parse("an OpenAI client sends {count:d} long exchanges, a system message and a question"),
      target_fixture="answer")
def long_conversation(client: OpenAI, count: int) -> Any:
    words = " ".join(["kelime"] * 100)
    messages: list[dict[str, str]] = [{"role": "system", "content": "Kısa yanıt ver."}]
    for number in range(count):
        messages += [{"role": "user", "content": f"soru {number} {words}"},
                     {"role": "assistant", "content": f"yanıt {number} {words}"}]
    messages.append({"role": "user", "content": "Son soru?"})
    return client.chat.completions.create(model="evotr:none", messages=messages)  # type: ignore[arg-type]


@then("the answer says how many older turns were dropped")
def dropped(answer: Any) -> None:
    assert 0 < answer.model_extra["evotr"]["dropped_turns"] < 40


@then("the model was sent the system message, the newest turns and the question")
def sent_newest(container: Container, answer: Any) -> None:
    sent, _ = container.models.llm().calls[-1]
    kept = 40 - answer.model_extra["evotr"]["dropped_turns"]
    assert (sent[0].content, sent[-1].content) == ("Kısa yanıt ver.", "Son soru?")
    assert sent[1].content.startswith(f"soru {40 - kept} ") and len(sent) == 2 + 2 * kept
