"""Feedback lands on the answer it judges — in the REPL, the library and `evotr feedback add`."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from dependency_injector import providers

from evotr.application.chat import NoFeedbackTargetError
from evotr.container import build_container
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message
from evotr.domain.feedback import FeedbackKind
from evotr.domain.sampling import SamplingParams
from evotr.entrypoints.cli.chat_repl import Repl
from evotr.entrypoints.cli.main import main
from evotr.entrypoints.library import assistant_for
from evotr.infrastructure.memory.llm_backend import InMemoryLLMBackend
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository
from tests.cli_homes import memory_llm_home

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return memory_llm_home(tmp_path / "home")


def run(home: Path, args: list[str], stdin: bytes | str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def repository(home: Path) -> SqliteFeedbackRepository:
    return SqliteFeedbackRepository(home / "evotr.db")


def test_feedback_after_a_failed_message_is_refused_not_given_to_the_previous_answer(home: Path) -> None:
    too_long = "a" * 100_001  # refused by validation: the message fails, nothing is answered
    script = f"Merhaba\n{too_long}\n/good\n/correct Doğrusu bu.\n/bad\n"
    code, out, _ = run(home, ["chat"], script)
    assert code == 0
    assert out.count("got no stored answer (it failed or was stopped)") == 3
    repo = repository(home)
    assert [t.prompt for t in repo.recent_turns()] == ["Merhaba"]
    assert repo.list_feedback() == []  # before the fix, all three landed on "Merhaba"'s answer


def test_feedback_after_an_answer_stopped_with_ctrl_c_is_refused(home: Path) -> None:
    class StoppedByUser(InMemoryLLMBackend):
        """Streams one piece of the second answer, then the user presses Ctrl-C."""

        def stream(self, messages: Sequence[Message], params: SamplingParams,
                   adapter: AdapterVersion | None = None) -> Iterator[str]:
            pieces = list(super().stream(messages, params, adapter))
            if len(self.calls) != 2:
                return iter(pieces)
            return self._interrupted(pieces[0])

        @staticmethod
        def _interrupted(first: str) -> Iterator[str]:
            yield first
            raise KeyboardInterrupt

    container = build_container(None, home)
    container.models.llm.override(providers.Object(StoppedByUser()))
    assistant = assistant_for(container, source="cli")
    out = io.StringIO()
    Repl(assistant, out).run(["Merhaba", "Osmanlı tarihi anlat", "/good", "Merhaba yine", "/bad"])
    text = out.getvalue()
    assert "[durduruldu / stopped]" in text
    assert "got no stored answer" in text
    repo = repository(home)
    turns = repo.recent_turns()
    assert [t.prompt for t in turns] == ["Merhaba yine", "Merhaba"]  # the stopped answer is not stored
    assert [(f.turn_id, f.kind) for f in repo.list_feedback()] == [(turns[0].id, FeedbackKind.THUMBS_DOWN)]


def test_library_feedback_without_an_answer_names_the_reason(home: Path) -> None:
    container = build_container(None, home)
    assistant = assistant_for(container, source="library")
    with pytest.raises(NoFeedbackTargetError, match="no answer yet"):
        assistant.feedback(None, "thumbs_up")
    reply = assistant.chat("Merhaba")
    with pytest.raises(Exception, match="message: is empty"):
        assistant.chat("   ")
    with pytest.raises(NoFeedbackTargetError, match="failed or was stopped"):
        assistant.feedback(None, "thumbs_up")
    # An explicit turn id still reaches the older answer on purpose.
    assistant.feedback(reply.turn_id, "thumbs_up")
    assert [f.turn_id for f in repository(home).list_feedback()] == [reply.turn_id]


def test_feedback_add_judges_the_turn_that_ask_json_printed(home: Path) -> None:
    code, out, _ = run(home, ["ask", "--json", "Python liste oluştur"])
    assert code == 0
    first = json.loads(out)["turn_id"]
    code, out, _ = run(home, ["ask", "--json", "5+3 kaç eder?"])
    second = json.loads(out)["turn_id"]

    assert run(home, ["feedback", "add", first, "good"])[0] == 0
    assert run(home, ["feedback", "add", second, "correct", "--text", "5 + 3 = 8"])[0] == 0
    code, out, _ = run(home, ["feedback", "add", first, "correct", "-", "--json"], "liste = [1, 2]\n")
    assert code == 0 and json.loads(out)["kind"] == "correction"

    stored = [(f.turn_id, f.kind, f.correction, f.source) for f in repository(home).list_feedback()]
    assert stored == [
        (first, FeedbackKind.THUMBS_UP, None, "cli"),
        (second, FeedbackKind.CORRECTION, "5 + 3 = 8", "cli"),
        (first, FeedbackKind.CORRECTION, "liste = [1, 2]", "cli"),
    ]


@pytest.mark.parametrize(("args", "message"), [
    (["0" * 32, "good"], "no turn with id 00000000000000000000000000000000"),
    (["not-a-turn", "bad"], "turn_id: 'not-a-turn' is not a turn id"),
    (["{turn}", "correct"], "`correct` needs the corrected answer"),
    (["{turn}", "correct", "--text", "   "], "`correct` needs the corrected answer"),
    (["{turn}", "good", "--text", "x"], "only `correct` carries text"),
    (["{turn}", "correct", "extra"], "unexpected argument 'extra'"),
    (["{turn}", "correct", "-", "--text", "x"], "not both"),
])
def test_feedback_add_refuses_bad_input_with_one_line(home: Path, args: list[str], message: str) -> None:
    code, out, _ = run(home, ["ask", "--json", "Merhaba"])
    turn = json.loads(out)["turn_id"]
    code, _, err = run(home, ["feedback", "add", *(a.format(turn=turn) for a in args)])
    assert code == 1
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert repository(home).list_feedback() == []


def test_feedback_add_on_a_home_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "mistyped"
    code, _, err = run(missing, ["feedback", "add", "0" * 32, "good"])
    assert code == 1 and "does not exist" in err
    assert not missing.exists()
