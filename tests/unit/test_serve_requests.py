"""Pure parts of `evotr serve`: stop sequences, client conversations, request parsing, model names."""

from __future__ import annotations

from typing import Any

import pytest

from evotr.application.chat import AdapterChoice
from evotr.application.serving.completion import requested_sampling
from evotr.domain.client_conversation import ClientConversation
from evotr.domain.conversation import Message, Role
from evotr.domain.errors import DomainValidationError
from evotr.domain.sampling import SamplingParams
from evotr.domain.stop_sequences import StopSequences
from evotr.entrypoints.http.errors import ApiError
from evotr.entrypoints.http.openai_request import parse_completion

pytestmark = pytest.mark.unit


def scan(stops: list[str], pieces: list[str]) -> tuple[str, bool]:
    scanner = StopSequences(stops).scanner()
    shown = "".join(scanner.feed(p) for p in pieces) + scanner.flush()
    return shown, scanner.stopped


@pytest.mark.parametrize(("stops", "pieces", "shown", "stopped"), [
    ([], ["a", "b"], "ab", False),
    (["END"], ["one E", "N", "D two"], "one ", True),        # split over three pieces
    (["END"], ["one EN", "x"], "one ENx", False),            # a false start is released
    (["END"], ["one EN"], "one EN", False),                  # held back, then flushed at the end
    (["<|", "##"], ["a#", "#b<|c"], "a", True),              # the first of several wins
    (["xyz"], ["xyzzy"], "", True),
])
def test_a_stop_sequence_is_never_shown_and_nothing_after_it(stops: list[str], pieces: list[str], shown: str,
                                                             stopped: bool) -> None:
    assert scan(stops, pieces) == (shown, stopped)


@pytest.mark.parametrize("bad", [["a", "b", "c", "d", "e"], [""], [3], {"a": 1}])
def test_bad_stop_values_name_the_field(bad: Any) -> None:
    with pytest.raises(DomainValidationError) as error:
        StopSequences(bad)
    assert error.value.field == "stop"


def m(role: str, text: str) -> Message:
    return Message(Role(role), text)


def test_a_client_conversation_joins_systems_and_merges_neighbours() -> None:
    conversation = ClientConversation.from_messages([
        m("system", "A"), m("user", "1"), m("user", "2"), m("assistant", "3"), m("system", "B"),
        m("user", "4")])
    assert conversation.system == "A\n\nB" and conversation.latest == m("user", "4")
    assert [(t.user.content, t.assistant.content) for t in conversation.history] == [("1\n\n2", "3")]
    assert ClientConversation.from_messages([m("user", "x")]).system is None


@pytest.mark.parametrize("messages", [[], [m("system", "s")], [m("user", "a"), m("assistant", "b")],
                                      [m("assistant", "a"), m("user", "b")]])
def test_a_client_conversation_must_end_with_a_question(messages: list[Message]) -> None:
    with pytest.raises(DomainValidationError):
        ClientConversation.from_messages(messages)


def test_requested_sampling_caps_max_tokens_and_keeps_the_rest() -> None:
    configured = SamplingParams(temperature=0.7, top_p=0.9, max_tokens=64, seed=None)
    assert requested_sampling(configured, max_tokens=4096, temperature=0, seed=3) == SamplingParams(
        temperature=0, top_p=0.9, max_tokens=64, seed=3)
    with pytest.raises(DomainValidationError, match="top_p"):
        requested_sampling(configured, top_p=1.5)


def parse(body: Any) -> Any:
    return parse_completion(body, SamplingParams(max_tokens=32), lambda name: AdapterChoice())


def test_unknown_fields_are_ignored_and_known_ones_mapped() -> None:
    messages = [{"role": "developer", "content": "kısa yaz"}, {"role": "user", "content": "x"}]
    parsed = parse({"messages": messages, "max_completion_tokens": 8, "stop": "\n", "logit_bias": {},
                    "user": "kaan", "stream": True, "stream_options": {"include_usage": True},
                    "evotr": {"source": "web"}})
    request = parsed.request
    assert (parsed.model, parsed.stream, parsed.include_usage) == ("evotr", True, True)
    assert (request.sampling.max_tokens, request.stop.sequences, request.source) == (8, ("\n",), "web")
    assert request.conversation.system == "kısa yaz"


@pytest.mark.parametrize(("body", "param"), [
    ([], None), ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
    ({"messages": [{"role": "user", "content": "x"}], "seed": 1.5}, "seed"),
    ({"messages": [{"role": "user", "content": "x"}], "max_tokens": True}, "max_tokens"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": 1}},
     "stream_options.include_usage"),
    ({"messages": [{"role": "user", "content": "x"}], "evotr": {"source": "cli"}}, None),
])
def test_wrong_types_are_400s_naming_the_field(body: Any, param: str | None) -> None:
    with pytest.raises((ApiError, DomainValidationError)) as error:
        parse(body)
    if isinstance(error.value, ApiError):
        assert (error.value.status, error.value.param) == (400, param)
    else:
        assert error.value.field == "source"
