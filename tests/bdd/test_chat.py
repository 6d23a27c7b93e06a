"""Steps for features/chat.feature: real SQLite and adapter store, in-memory LLM that records calls."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import pytest
from dependency_injector import providers
from pytest_bdd import given, parsers, scenarios, then, when

from evotr.application.assistant import Assistant
from evotr.application.chat import ChatReply
from evotr.container import Container, container_for
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Role
from evotr.domain.feedback import FeedbackKind
from evotr.domain.intents import ALL_INTENTS, Intent
from evotr.domain.sampling import SamplingParams
from evotr.entrypoints.cli.chat_repl import Repl
from evotr.entrypoints.library import assistant_for
from evotr.infrastructure.memory.llm_backend import InMemoryLLMBackend
from evotr.ports.intent_classifier import IntentClassifier
from tests.bdd.conftest import train_fake_adapter

pytestmark = pytest.mark.bdd
scenarios("chat.feature")


class ScriptedClassifier(IntentClassifier):
    """Answers a fixed distribution per message; anything else is uniform."""

    def __init__(self) -> None:
        self.script: dict[str, tuple[Intent, float]] = {}

    def fit(self, examples: Mapping[Intent, Sequence[str]]) -> None:
        """Nothing to learn."""

    def probabilities(self, text: str) -> Mapping[Intent, float]:
        """The scripted top intent gets ``p``; the rest share what is left."""
        key = next((k for k in self.script if text.startswith(k)), None)
        if key is None:
            return {i: 1 / len(ALL_INTENTS) for i in ALL_INTENTS}
        top, p = self.script[key]
        rest = (1 - p) / (len(ALL_INTENTS) - 1)
        return {i: p if i is top else rest for i in ALL_INTENTS}


@pytest.fixture
def classifier() -> ScriptedClassifier:
    return ScriptedClassifier()


def _wire(container: Container, classifier: ScriptedClassifier) -> Container:
    container.config.backends.llm.override("memory")
    container.models.classifier.override(providers.Object(classifier))
    return container


@given(parsers.parse('a home where "{a}" and "{b}" are trained and promoted'), target_fixture="container")
def home_with_adapters(container: Container, classifier: ScriptedClassifier, tmp_path: Path,
                       a: str, b: str) -> Container:
    container.use_cases.init_home().execute()
    for name in (a, b):
        container.use_cases.promote_adapter().execute(train_fake_adapter(container, tmp_path, name))
    return _wire(container, classifier)


@given(parsers.parse('"{name}" is trained and promoted'))
def one_more(container: Container, tmp_path: Path, name: str) -> None:
    container.use_cases.promote_adapter().execute(train_fake_adapter(container, tmp_path, name))


@given(parsers.parse('the router is {p:f} sure that "{text}" is "{intent}"'))
def scripted_route(classifier: ScriptedClassifier, p: float, text: str, intent: str) -> None:
    classifier.script[text] = (Intent(intent), p)


@given(parsers.parse("a context of {total:d} tokens with {reply:d} kept for the reply"),
       target_fixture="container")
def small_context(container: Container, classifier: ScriptedClassifier, total: int, reply: int) -> Container:
    settings = container.settings()
    settings = attrs.evolve(settings, context_max_tokens=total,
                            sampling=SamplingParams(temperature=0.0, max_tokens=reply))
    return _wire(container_for(settings), classifier)


@pytest.fixture
def assistant(container: Container) -> Assistant:
    return assistant_for(container, source="test")


@pytest.fixture
def llm(container: Container) -> InMemoryLLMBackend:
    backend = container.models.llm()
    assert isinstance(backend, InMemoryLLMBackend)
    return backend


@when(parsers.parse('I send "{text}" with adapter "{adapter}"'), target_fixture="reply")
def send_with_adapter(assistant: Assistant, text: str, adapter: str) -> ChatReply:
    return assistant.chat(text, adapter)


@when(parsers.parse('I send "{text}"'), target_fixture="reply")
def send(assistant: Assistant, text: str) -> ChatReply:
    return assistant.chat(text)


@when(parsers.parse("I send {count:d} messages"))
def send_many(assistant: Assistant, count: int) -> None:
    for n in range(count):
        assistant.chat(f"soru {n}: " + " ".join(["kelime"] * (n % 7 + 3)))


@when("I type these lines in the chat:", target_fixture="screen")
def type_lines(assistant: Assistant, datatable: list[list[str]]) -> str:
    out = io.StringIO()
    Repl(assistant, out).run(row[0] for row in datatable[1:])
    return out.getvalue()


@then(parsers.parse('the reply names intent "{intent}" with confidence {p:f} and no fallback'))
def reply_routed(reply: ChatReply, intent: str, p: float) -> None:
    assert (reply.intent, reply.fallback) == (Intent(intent), False)
    assert reply.confidence == pytest.approx(p)


@then(parsers.parse('the reply names intent "{intent}" with confidence {p:f} and a fallback'))
def reply_fell_back(reply: ChatReply, intent: str, p: float) -> None:
    assert (reply.intent, reply.fallback) == (Intent(intent), True)
    assert reply.confidence == pytest.approx(p)


@then(parsers.parse('the model was asked with adapter "{name}"'))
def asked_with(llm: InMemoryLLMBackend, name: str) -> None:
    assert llm.calls[-1][1] == AdapterVersion.parse(name)


@then("the model was asked with the base model")
def asked_with_base(llm: InMemoryLLMBackend) -> None:
    assert llm.calls[-1][1] is None


@then(parsers.parse('the stored turn records intent "{intent}" and adapter "{name}"'))
def stored_turn(container: Container, reply: ChatReply, intent: str, name: str) -> None:
    turn = container.storage.feedback_repository().get_turn(reply.turn_id)
    assert turn is not None and turn.reply == reply.text
    assert (turn.intent, turn.adapter) == (Intent(intent), AdapterVersion.parse(name))


@then(parsers.parse('the database holds a correction "{text}" on the last turn'))
def correction_stored(container: Container, assistant: Assistant, text: str) -> None:
    (feedback,) = container.storage.feedback_repository().list_feedback(FeedbackKind.CORRECTION)
    assert (feedback.turn_id, feedback.correction) == (assistant.last_turn_id, text)


@then("the chat confirmed the correction on screen")
def confirmed(screen: str, assistant: Assistant) -> None:
    assert f"düzeltme kaydedildi (turn {assistant.last_turn_id})" in screen


@then(parsers.parse("no prompt sent to the model exceeded {limit:d} tokens"))
def within_budget(llm: InMemoryLLMBackend, limit: int) -> None:
    assert len(llm.calls) == 200
    assert max(llm.count_tokens(messages) for messages, _ in llm.calls) <= limit


@then("every prompt started with the system prompt and ended with the message just sent")
def kept_ends(llm: InMemoryLLMBackend, container: Container) -> None:
    persona = container.settings().persona
    for n, (messages, _) in enumerate(llm.calls):
        assert messages[0].role is Role.SYSTEM and messages[0].content == persona
        assert messages[-1].role is Role.USER and messages[-1].content.startswith(f"soru {n}: ")


@then("the last prompt dropped the oldest turns")
def dropped(llm: InMemoryLLMBackend) -> None:
    last = llm.calls[-1][0]
    assert 3 < len(last) < 2 * 200
    # What remains is the most recent history: its first user message is a late one.
    first_user = next(m for m in last[1:] if m.role is Role.USER)
    assert int(first_user.content.split()[1].rstrip(":")) > 150
