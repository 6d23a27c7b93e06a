"""`evotr serve` on the tiny MLX model, driven by the official openai SDK against a real uvicorn."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from click.testing import CliRunner
from openai import OpenAI

from evotr.container import Container, build_container
from evotr.domain.feedback import FeedbackKind
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository
from tests.adapter_fixtures import write_fake_mlx_adapter
from tests.compare_fixtures import store_adapter, tiny_home
from tests.serve_fixtures import GatedLLM, serving, set_max_queue, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HELLO = [{"role": "user", "content": "Merhaba, nasılsın?"}]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("serve") / "tiny")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, tiny: Path) -> Path:
    """A tiny-model home where tr_chat_v1 (a genuine mlx-lm adapter) is registered and active.

    Built once, its router trained once (seconds); each test that needs its own home copies it.
    """
    home = tmp_path_factory.mktemp("serve_template") / "home"
    container = tiny_home(home, tiny)
    source = write_fake_mlx_adapter(home.parent / "trained_v1", seed=1)
    version = store_adapter(container, "tr_chat_v1", source)
    container.use_cases.promote_adapter().execute(version)
    container.models.classifier()  # trains and saves <home>/router
    return home


def _home(template: Path, home: Path) -> Container:
    shutil.copytree(template, home)
    return build_container(home=home, env={})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve_home") / "home"


@pytest.fixture(scope="module")
def url(home: Path, template: Path) -> Iterator[str]:
    with serving(_home(template, home)) as base:
        yield base


@pytest.fixture
def client(url: str) -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


def stored(home: Path, turn_id: str) -> Any:
    turn = SqliteFeedbackRepository(home / "evotr.db").get_turn(turn_id)
    assert turn is not None, f"turn {turn_id} was not stored"
    return turn


def test_a_completion_is_the_stored_turn(client: OpenAI, home: Path) -> None:
    reply = client.chat.completions.create(model="evotr", messages=HELLO, max_tokens=12, temperature=0)
    extras = reply.model_extra["evotr"]
    turn = stored(home, extras["turn_id"])
    assert reply.choices[0].message.content == turn.reply and turn.source == "api"
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage is not None and reply.usage.prompt_tokens == extras["prompt_tokens"] > 0
    assert 0 < reply.usage.completion_tokens <= 12
    assert (extras["intent"], extras["adapter"]) == (turn.intent.value, turn.adapter and turn.adapter.name)
    assert {"route", "generate", "persist", "queue"} <= set(extras["timings_ms"])


def test_a_stream_ends_with_usage_and_done_and_is_stored_whole(client: OpenAI, url: str, home: Path) -> None:
    stream = client.chat.completions.create(model="evotr", messages=HELLO, max_tokens=12, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finish) == 1 and chunks[-1].choices == [] and chunks[-1].usage is not None
    turn = stored(home, finish[0].model_extra["evotr"]["turn_id"])
    assert text == turn.reply and chunks[-1].usage.completion_tokens > 0
    raw = httpx.post(f"{url}/v1/chat/completions", json={"messages": HELLO, "max_tokens": 4, "stream": True})
    events = [line for line in raw.text.splitlines() if line]
    assert raw.headers["content-type"].startswith("text/event-stream") and events[-1] == "data: [DONE]"


def test_models_are_the_routed_base_families_and_versions(client: OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == ["evotr", "evotr:none", "evotr:python_coder", "evotr:tr_chat", "evotr:tr_chat_v1"]
    assert client.models.retrieve("evotr:tr_chat").model_extra["evotr"]["active"] == "tr_chat_v1"


@pytest.mark.parametrize(("model", "adapter"), [
    ("evotr:none", None), ("evotr:tr_chat", "tr_chat_v1"), ("evotr:tr_chat_v1", "tr_chat_v1"),
    ("evotr:python_coder", None),
])
def test_the_model_name_picks_the_adapter(client: OpenAI, home: Path, model: str,
                                          adapter: str | None) -> None:
    reply = client.chat.completions.create(model=model, max_tokens=3,
                                           messages=[{"role": "user", "content": "Python liste"}])
    turn = stored(home, reply.model_extra["evotr"]["turn_id"])
    assert (turn.adapter.name if turn.adapter else None) == adapter == reply.model_extra["evotr"]["adapter"]


def test_the_clients_system_message_and_history_are_what_the_model_is_sent(client: OpenAI,
                                                                           home: Path) -> None:
    messages = [{"role": "system", "content": "Sen bir test botusun."},
                {"role": "user", "content": "Bir"}, {"role": "assistant", "content": "İki"},
                {"role": "user", "content": [{"type": "text", "text": "Üç"}]}]
    reply = client.chat.completions.create(model="evotr:none", messages=messages, max_tokens=3)  # type: ignore[arg-type]
    turn = stored(home, reply.model_extra["evotr"]["turn_id"])
    assert [(m.role.value, m.content) for m in turn.messages] == [
        ("system", "Sen bir test botusun."), ("user", "Bir"), ("assistant", "İki"), ("user", "Üç")]
    persona = client.chat.completions.create(model="evotr:none", messages=HELLO, max_tokens=3)
    assert "EVO-TR" in stored(home, persona.model_extra["evotr"]["turn_id"]).messages[0].content


def test_a_stop_sequence_ends_the_reply_before_it(client: OpenAI, home: Path) -> None:
    def ask(**more: Any) -> Any:
        return client.chat.completions.create(model="evotr:none", messages=HELLO, max_tokens=40,
                                              temperature=0, **more)

    whole = ask().choices[0].message.content
    assert len(whole) > 12, "the tiny model's greedy reply is too short to cut"
    stop = whole[8:11]
    cut = ask(stop=[stop, "never-there"])
    assert cut.choices[0].message.content == whole[: whole.index(stop)]
    assert cut.choices[0].finish_reason == "stop"
    assert stored(home, cut.model_extra["evotr"]["turn_id"]).reply == whole[: whole.index(stop)]


@pytest.mark.parametrize(("body", "status", "param"), [
    ({"model": "evotr:weather", "messages": HELLO}, 404, "model"),
    ({"model": "evotr", "messages": []}, 400, "messages"),
    ({"model": "evotr", "messages": [{"role": "user", "content": "   "}]}, 400, "messages"),
    ({"model": "evotr", "messages": "Merhaba"}, 400, "messages"),
    ({"model": "evotr", "messages": HELLO, "temperature": "hot"}, 400, "temperature"),
    ({"model": "evotr", "messages": HELLO, "temperature": 9}, 400, "temperature"),
    ({"model": "evotr", "messages": HELLO, "max_tokens": 0}, 400, "max_tokens"),
    ({"model": "evotr", "messages": HELLO, "stream": "yes"}, 400, "stream"),
    ({"model": "evotr", "messages": [{"role": "tool", "content": "x"}]}, 400, "messages[0].role"),
    ({"model": "evotr", "messages": [{"role": "user", "content": "x" * 150_000}]}, 400, "messages"),
    ({"model": "evotr", "messages": [{"role": "user", "content": "x" * 1_000_000}]}, 413, None),
])
def test_bad_requests_get_one_line_openai_errors(url: str, home: Path, body: dict[str, Any], status: int,
                                                 param: str | None) -> None:
    before = len(SqliteFeedbackRepository(home / "evotr.db").recent_turns(limit=1000))
    response = httpx.post(f"{url}/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["param"] == param
    assert "\n" not in error["message"] and "Traceback" not in error["message"]
    assert len(SqliteFeedbackRepository(home / "evotr.db").recent_turns(limit=1000)) == before


def test_the_sdk_raises_its_own_errors(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="evotr:weather", messages=HELLO)
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model="evotr", messages=[])
    not_json = httpx.post(f"{client.base_url}chat/completions", content=b"{nope")
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]["message"]


def test_feedback_over_http_lands_where_the_cli_reads_it(client: OpenAI, url: str, home: Path) -> None:
    turn_id = client.chat.completions.create(model="evotr", messages=HELLO, max_tokens=3).model_extra[
        "evotr"]["turn_id"]
    sent = httpx.post(f"{url}/v1/feedback", json={"turn_id": turn_id, "kind": "correction", "text": "İyiyim.",
                                                  "source": "web"})
    assert sent.status_code == 201 and sent.json()["stored"] is True
    rows = SqliteFeedbackRepository(home / "evotr.db").list_feedback()
    assert [(f.turn_id, f.kind, f.correction, f.source) for f in rows if f.turn_id == turn_id] == [
        (turn_id, FeedbackKind.CORRECTION, "İyiyim.", "web")]
    cli = CliRunner().invoke(main, ["--home", str(home), "feedback", "stats", "--json"])
    assert cli.exit_code == 0, cli.output
    over_http = httpx.get(f"{url}/v1/feedback/stats").json()
    assert json.loads(cli.stdout)["corrections"] == over_http["corrections"] >= 1
    unknown = httpx.post(f"{url}/v1/feedback", json={"turn_id": "0" * 32, "kind": "thumbs_up"})
    bad_kind = httpx.post(f"{url}/v1/feedback", json={"turn_id": turn_id, "kind": "meh"})
    assert (unknown.status_code, unknown.json()["error"]["param"]) == (404, "turn_id")
    assert (bad_kind.status_code, bad_kind.json()["error"]["param"]) == (400, "kind")
    families = {a["family"]: a["active"] for a in httpx.get(f"{url}/v1/adapters").json()["data"]}
    assert families == {"python_coder": None, "tr_chat": "tr_chat_v1"}


def test_two_concurrent_clients_both_get_answers(client: OpenAI, home: Path) -> None:
    replies: dict[int, Any] = {}

    def ask(number: int) -> None:
        replies[number] = client.chat.completions.create(
            model="evotr", messages=[{"role": "user", "content": f"Soru {number}"}], max_tokens=8,
            stream=True)
        replies[number] = "".join(c.choices[0].delta.content or "" for c in replies[number] if c.choices)

    threads = [threading.Thread(target=ask, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    turns = SqliteFeedbackRepository(home / "evotr.db").recent_turns(limit=1000)
    prompts = {t.prompt: t.reply for t in turns}
    assert prompts["Soru 1"] == replies[1] and prompts["Soru 2"] == replies[2]


def _leave_after_the_first_piece(tmp_path: Path, template: Path, max_tokens: int) -> list[Any]:
    """Stream a reply, hold the model after its first piece, disconnect, then let the model go on;
    the turns stored afterwards."""
    container = _home(template, tmp_path / "home")
    gates: list[GatedLLM] = []
    with serving(container, wrap_llm=lambda llm: gates.append(GatedLLM(llm)) or gates[-1]) as url:
        client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(model="evotr", messages=HELLO, max_tokens=max_tokens,
                                                stream=True)
        pieces = iter(stream)
        next(pieces)  # the role chunk
        next(pieces)  # the first piece: the model is now held
        stream.close()
        wait_for(url, lambda queue: queue["cancelled"] == 1)
        gates[0].release.set()
        wait_for(url, lambda queue: queue["depth"] == 0)
    return SqliteFeedbackRepository(tmp_path / "home" / "evotr.db").recent_turns()


def test_a_client_that_disconnects_mid_stream_stops_it_and_nothing_is_stored(tmp_path: Path,
                                                                              template: Path) -> None:
    assert _leave_after_the_first_piece(tmp_path, template, max_tokens=50) == []


def test_a_client_gone_while_the_last_piece_is_made_stores_nothing(tmp_path: Path, template: Path) -> None:
    """The reply ends inside the step the client left in (one token): no later step would see the
    cancel, so the turn itself asks before it is stored (a CI run stored such a turn once)."""
    assert _leave_after_the_first_piece(tmp_path, template, max_tokens=1) == []


def test_a_full_queue_answers_503_with_retry_after(tmp_path: Path, template: Path) -> None:
    _home(template, tmp_path / "home")
    set_max_queue(tmp_path / "home", 1)
    container = build_container(home=tmp_path / "home", env={})  # reads the edited config
    gates: list[GatedLLM] = []
    with serving(container, wrap_llm=lambda llm: gates.append(GatedLLM(llm)) or gates[-1]) as url:
        first = threading.Thread(target=httpx.post, args=(f"{url}/v1/chat/completions",),
                                 kwargs={"json": {"messages": HELLO, "max_tokens": 5}, "timeout": 120})
        first.start()
        gates[0].holding.wait(timeout=60)
        busy = httpx.post(f"{url}/v1/chat/completions", json={"messages": HELLO})
        assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1
        assert busy.json()["error"]["code"] == "queue_full"
        assert httpx.get(f"{url}/health").json()["queue"]["depth"] == 1
        gates[0].release.set()
        first.join()
    assert len(SqliteFeedbackRepository(tmp_path / "home" / "evotr.db").recent_turns()) == 1


def test_an_api_key_is_required_when_set(tmp_path: Path, template: Path) -> None:
    with serving(_home(template, tmp_path / "home"), api_key="s3cret-key") as url:
        with pytest.raises(openai.AuthenticationError, match="API key"):
            OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0).models.list()
        assert httpx.get(f"{url}/v1/models").status_code == 401
        assert len(OpenAI(base_url=f"{url}/v1", api_key="s3cret-key").models.list().data) == 5
        assert httpx.get(f"{url}/health").status_code == 200


def test_evotr_serve_streams_to_the_sdk_and_stops_cleanly_on_ctrl_c(tmp_path: Path, template: Path) -> None:
    _home(template, tmp_path / "home")
    evotr = Path(sys.executable).with_name("evotr")
    process = subprocess.Popen([str(evotr), "--home", str(tmp_path / "home"), "serve", "--port", "0"],
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "EVOTR_API_KEY": ""})
    try:
        assert process.stderr is not None
        lines = []
        while not (match := re.search(r"http://127\.0\.0\.1:\d+/v1", lines[-1] if lines else "")):
            line = process.stderr.readline()
            assert line, "evotr serve ended before it announced its address:\n" + "".join(lines)
            lines.append(line)
        client = OpenAI(base_url=match.group(0), api_key="unused", max_retries=0)
        stream = client.chat.completions.create(model="evotr", messages=HELLO, max_tokens=6, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in err and "API stopped" in err, err


@pytest.mark.parametrize(("args", "env", "message"), [
    (["serve", "--api-key-env", "EVOTR_TEST_NO_KEY"], {}, "the variable EVOTR_TEST_NO_KEY is not set"),
    (["serve", "--host", "0.0.0.0"], {"EVOTR_API_KEY": ""}, "--host 0.0.0.0 is reachable from other"),
])
def test_serve_refuses_to_start_unsafely_in_one_line(tmp_path: Path, args: list[str], env: dict[str, str],
                                                     message: str) -> None:
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "home"), *args], env=env)
    assert result.exit_code == 1 and message in result.stderr and result.stderr.count("\n") == 1
