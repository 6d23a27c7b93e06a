"""Steps for features/learning.feature: `feedback train`, the promotion gate, history and rollback.

The CLI runs for real on a home serving the in-memory model; the container it builds is this
test's, with fake trainers and a model that is told how the next candidate ranks the pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from dependency_injector import providers
from pytest_bdd import given, parsers, scenario, then

from evotr.application.assistant import Assistant
from evotr.container import Container, build_container
from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.domain.training import TrainingJob
from evotr.entrypoints.cli.main import main
from evotr.entrypoints.library import assistant_for
from evotr.infrastructure.memory.background_training import InMemoryBackgroundTraining
from tests.cli_homes import memory_llm_home
from tests.fakes.learning import FakePreferenceTrainer, FakeSftTrainer, ScoringLLM, add_judged_turns

pytestmark = pytest.mark.bdd

FAMILY = AdapterFamily("tr_chat")


@scenario("learning.feature", "The gate stays closed below 10 corrections and says how many are missing")
def test_the_gate_stays_closed_below_ten() -> None:
    """`feedback train` refuses and counts what is missing."""


@scenario("learning.feature", "A candidate that wins is promoted and the running chat uses it at once")
def test_a_winning_candidate_is_promoted_and_used_at_once() -> None:
    """train → gate passes → promoted → the chat that was already running answers with it."""


@scenario("learning.feature", "A worse candidate is refused, with the numbers, and the active version stays")
def test_a_worse_candidate_is_refused() -> None:
    """The gate keeps a worse candidate inactive and prints why."""


@scenario("learning.feature", "A promotion from feedback can be rolled back, and the history shows both")
def test_a_promotion_from_feedback_rolls_back() -> None:
    """rollback undoes the promotion; adapters history lists both."""


@given("a home serving the in-memory model with fake trainers", target_fixture="learning_home")
def learning_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Container:
    config = memory_llm_home(home) / "evotr.yaml"
    text = config.read_text("utf-8")
    assert "  classifier: ngram" in text
    # The in-memory router: nothing to train per home (the n-gram one takes seconds).
    config.write_text(text.replace("  classifier: ngram", "  classifier: memory"), "utf-8")
    container = build_container(home=home, env={})
    container.use_cases.init_home().execute()
    container.models.llm.override(providers.Object(ScoringLLM()))
    container.models.trainer.override(providers.Object(FakeSftTrainer()))
    container.learning.models.preference_trainer.override(providers.Object(FakePreferenceTrainer()))
    container.storage.background_training.override(providers.Object(InMemoryBackgroundTraining()))
    # Every CLI run in this scenario gets this container (and so the same fakes).
    monkeypatch.setattr("evotr.container.build_container", lambda *args, **kwargs: container)
    return container


@given(parsers.parse("tr_chat has {count:d} corrected answers"))
def corrected_answers(learning_home: Container, count: int) -> None:
    add_judged_turns(learning_home.storage.feedback_repository(), count, intent="general_chat")


@given(parsers.parse('family "{family}" serves "{name}"'))
def family_serves(learning_home: Container, tmp_path: Path, family: str, name: str) -> None:
    version = AdapterVersion.parse(name)
    source = tmp_path / "trained" / name
    FakeSftTrainer().train(TrainingJob(version, "memory", "d", rank=4, num_layers=2), source)
    store = learning_home.storage.adapter_store()
    store.add(version, source, AdapterManifest(version, "memory"))
    store.update_registry(lambda r: r.register(version).promote(version))


@given(parsers.parse('a chat is running and its message is answered by "{name}"'),
       target_fixture="running_chat")
def running_chat(learning_home: Container, name: str) -> Assistant:
    assistant = assistant_for(learning_home, source="cli")
    assert assistant.chat("Merhaba, nasılsın?").adapter == AdapterVersion.parse(name)
    return assistant


def _llm(container: Container) -> ScoringLLM:
    llm = container.models.llm()
    assert isinstance(llm, ScoringLLM)
    return llm


@given("the next candidate ranks every correction above the original answer")
def candidate_wins(learning_home: Container) -> None:
    _llm(learning_home).margins[AdapterVersion.parse("tr_chat_v2")] = 1.0


@given("the next candidate ranks every original answer above its correction")
def candidate_loses(learning_home: Container) -> None:
    llm = _llm(learning_home)
    llm.margins[AdapterVersion.parse("tr_chat_v1")] = 1.0
    llm.margins[AdapterVersion.parse("tr_chat_v2")] = -1.0


@then(parsers.parse('family "{family}" has no new version'))
def no_new_version(learning_home: Container, family: str) -> None:
    store = learning_home.storage.adapter_store()
    assert [v for v in store.versions() if v.family.name == family] == []
    assert not (learning_home.settings().adapters_dir / "history.jsonl").exists()


@then(parsers.parse('the running chat\'s next message is answered by "{name}"'))
def next_message(running_chat: Assistant, name: str) -> None:
    assert running_chat.chat("Merhaba, nasılsın?").adapter == AdapterVersion.parse(name)


@then(parsers.parse('family "{family}" serves "{active}" and "{other}" is registered'))
def serves_and_registered(learning_home: Container, family: str, active: str, other: str) -> None:
    registry = learning_home.storage.adapter_store().load_registry()
    assert registry.active(AdapterFamily(family)) == AdapterVersion.parse(active)
    assert AdapterVersion.parse(other).number in registry.state(AdapterFamily(family)).versions
    # A message routed to the family gets the active version, not the kept one.
    reply = assistant_for(learning_home, source="cli").chat("Merhaba, nasılsın?")
    assert reply.adapter == AdapterVersion.parse(active)


@then(parsers.parse('the history records "{candidate}" as "{decision}" after "{before}"'))
def history_records(learning_home: Container, candidate: str, decision: str, before: str) -> None:
    lines = (learning_home.settings().adapters_dir / "history.jsonl").read_text("utf-8").splitlines()
    [event] = [json.loads(line) for line in lines]
    assert (event["event"], event["family"], event["candidate"]) == ("feedback_train", "tr_chat", candidate)
    assert event["decision"] == decision and event["active_before"] == before
    assert len(event["feedback_turns"]["train"]) == 7 and len(event["feedback_turns"]["held_out"]) == 3
    assert event["metrics"]["candidate"]["train_preference"]["pairs"] == 7


@then(parsers.parse('"{command}" lists "{first}" then "{second}"'))
def history_lists(home: Path, command: str, first: str, second: str) -> None:
    result = CliRunner().invoke(main, ["--home", str(home), *command.split()[1:]], env={"EVOTR_HOME": None})
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)
    assert [e["event"] for e in events] == [first, second]
    assert (events[1]["from"], events[1]["to"]) == ("tr_chat_v2", "tr_chat_v1")
