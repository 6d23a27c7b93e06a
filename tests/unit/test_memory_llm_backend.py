"""The in-memory LLM backend is a deterministic, inspectable stand-in for the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from evotr.application.errors import AdapterNotRegisteredError
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.sampling import SamplingParams
from evotr.infrastructure.memory.llm_backend import InMemoryLLMBackend
from evotr.ports.llm_backend import LLMBackend

pytestmark = pytest.mark.unit

SYSTEM = Message(Role.SYSTEM, "Sen yardımsever bir asistansın.")


def user(text: str) -> Message:
    return Message(Role.USER, text)


def test_satisfies_the_port() -> None:
    assert isinstance(InMemoryLLMBackend(), LLMBackend)
    assert InMemoryLLMBackend("küçük").model_id == "küçük"


@pytest.mark.parametrize("max_tokens", [1, 2, 3, 50])
def test_max_tokens_limits_the_words(max_tokens: int) -> None:
    backend = InMemoryLLMBackend()
    params = SamplingParams(max_tokens=max_tokens)
    pieces = list(backend.stream([SYSTEM, user("bir iki üç dört beş altı")], params))
    full = ["[base]", "Mesajını", "aldım:", "bir", "iki", "üç", "dört", "beş", "altı"]
    assert len(pieces) == min(max_tokens, len(full))
    assert "".join(pieces).split() == full[:max_tokens]


def test_reply_is_deterministic_and_names_the_adapter() -> None:
    messages = [SYSTEM, user("İstanbul'da hava nasıl?")]
    params = SamplingParams(temperature=1.0)
    first = InMemoryLLMBackend().generate(messages, params)
    assert first == InMemoryLLMBackend().generate(messages, params)
    assert "base" in first and "İstanbul'da hava nasıl?" in first
    backend = InMemoryLLMBackend()
    backend.register_adapter(AdapterVersion.parse("tr_chat_v2"), Path("/adapters/tr_chat_v2"))
    adapted = backend.generate(messages, params, AdapterVersion.parse("tr_chat_v2"))
    assert "tr_chat_v2" in adapted


def test_canned_replies_cycle() -> None:
    backend = InMemoryLLMBackend(replies=["bir", "iki"])
    params = SamplingParams()
    got = [backend.generate([user(f"soru {i}")], params) for i in range(3)]
    assert got == ["bir", "iki", "bir"]


def test_calls_are_recorded_with_adapter() -> None:
    backend = InMemoryLLMBackend()
    adapter = AdapterVersion.parse("python_code_v1")
    backend.register_adapter(adapter, Path("/adapters/python_code_v1"))
    messages = [SYSTEM, user("Bir liste nasıl sıralanır?")]
    backend.generate(messages, SamplingParams())
    list(backend.stream(messages, SamplingParams(), adapter))
    assert backend.calls == [(tuple(messages), None), (tuple(messages), adapter)]
    assert backend.loaded


def test_count_tokens_grows_with_words_and_messages() -> None:
    backend = InMemoryLLMBackend()
    short = backend.count_tokens([SYSTEM, user("merhaba")])
    longer = backend.count_tokens([SYSTEM, user("merhaba nasılsın bugün")])
    more = backend.count_tokens([SYSTEM, user("merhaba"), Message(Role.ASSISTANT, "selam"), user("naber")])
    assert short == 4 + 4 + 1 + 4
    assert short < longer
    assert short < more
    assert backend.calls == []


def test_unregistered_adapter_is_refused_by_name() -> None:
    backend = InMemoryLLMBackend()
    backend.register_adapter(AdapterVersion.parse("tr_chat_v1"), Path("/a"))
    with pytest.raises(AdapterNotRegisteredError, match=r"python_coder_v3.*registered: tr_chat_v1"):
        backend.generate([user("x")], SamplingParams(), AdapterVersion.parse("python_coder_v3"))
    assert backend.calls == []
