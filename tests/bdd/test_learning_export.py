"""Steps for features/learning.feature: export formats, and a misroute that teaches the router."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pytest_bdd import given, parsers, scenario, then, when

from evotr.container import Container
from evotr.domain.conversation import Message, Role
from evotr.domain.feedback import Feedback
from evotr.domain.intents import Intent
from evotr.domain.turns import TurnRecord
from evotr.entrypoints.cli.main import main
from tests.cli_homes import memory_llm_home

pytestmark = pytest.mark.bdd

SENT = (Message(Role.SYSTEM, "Sen EVO-TR'sin."), Message(Role.USER, "Merhaba"),
        Message(Role.ASSISTANT, "Merhaba! Nasıl yardımcı olabilirim?"))


# Only these scenarios: others in the same feature file have their steps in other modules.
@scenario("learning.feature", "Export formats")
def test_export_formats() -> None:
    """SFT, DPO and KTO files in TRL's conversational shapes."""


@scenario("learning.feature", "A misroute correction changes the router's answer for that message")
def test_a_misroute_correction_changes_the_route() -> None:
    """`feedback add ... correct --intent X` → the retrained router sends the message to X."""


def cli(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], env={"EVOTR_HOME": None})
    return result.exit_code, result.stdout, result.stderr


@given("an answer corrected after earlier turns, a 👍 answer and a 👎 answer")
def judged_answers(container: Container) -> None:
    repo = container.storage.feedback_repository()
    for prompt, reply, kind, correction in [
        ("Osmanlı ne zaman kuruldu?", "1453'te.", "correction", "1299'da kuruldu."),
        ("İstanbul ne zaman fethedildi?", "1453'te.", "thumbs_up", None),
        ("Lale Devri ne zaman?", "1900'de.", "thumbs_down", None),
    ]:
        turn = repo.add_turn(TurnRecord(prompt, reply, Intent.HISTORY, 0.9,
                                        messages=(*SENT, Message(Role.USER, prompt))))
        repo.add_feedback(Feedback(turn, kind, correction))


@when(parsers.parse('I export the feedback as "{fmt}"'), target_fixture="rows")
def export_rows(home: Path, tmp_path: Path, fmt: str) -> list[dict[str, Any]]:
    out = tmp_path / f"{fmt}.jsonl"
    code, _, err = cli(home, "feedback", "export", "--format", fmt, "--out", str(out))
    assert code == 0, err
    return [json.loads(line) for line in out.read_text("utf-8").splitlines()]


@then(parsers.parse("the file has {count:d} rows with TRL's conversational keys {keys}"))
def rows_have_keys(rows: list[dict[str, Any]], count: int, keys: str) -> None:
    assert len(rows) == count
    wanted = {k.strip() for k in keys.split(",")}
    for row in rows:
        assert set(row) == wanted
        for key in wanted - {"label"}:
            assert all(set(m) == {"role", "content"} for m in row[key])
        for key in wanted & {"chosen", "rejected", "completion"}:
            assert [m["role"] for m in row[key]] == ["assistant"]
        if "label" in wanted:
            assert isinstance(row["label"], bool)


@then("every row starts from the messages the model was sent")
def rows_start_from_sent(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        messages = row.get("messages") or row["prompt"]
        assert messages[: len(SENT)] == [m.as_dict() for m in SENT]
        assert messages[len(SENT)]["role"] == "user"


@given("a home serving the in-memory model")
def memory_home(home: Path) -> Path:
    return memory_llm_home(home)


def eval_accuracy(home: Path, tmp_path: Path, text: str, intent: str) -> float:
    data = tmp_path / "labelled.jsonl"
    data.write_text(json.dumps({"text": text, "intent": intent}, ensure_ascii=False) + "\n", "utf-8")
    code, out, err = cli(home, "router", "eval", "--data", str(data), "--json")
    assert code == 0, err
    return float(json.loads(out)["accuracy"])


@given(parsers.parse('I asked "{text}" and it was routed to "{intent}"'), target_fixture="asked")
def asked(home: Path, tmp_path: Path, text: str, intent: str) -> dict[str, Any]:
    code, out, err = cli(home, "ask", "--json", text)
    assert code == 0, err
    reply = json.loads(out)
    assert reply["intent"] == intent
    return {"turn_id": reply["turn_id"], "text": text}


@when(parsers.parse('I correct that answer with the intent "{intent}"'))
def correct_with_intent(home: Path, tmp_path: Path, asked: dict[str, Any], intent: str) -> None:
    # Before: the router misroutes the message, so eval on it scores 0.
    asked["accuracy_before"] = eval_accuracy(home, tmp_path, asked["text"], intent)
    asked["intent"] = intent
    asked["hash_before"] = json.loads((home / "router" / "router.json").read_text("utf-8"))["examples_sha256"]
    code, _, err = cli(home, "feedback", "add", asked["turn_id"], "correct", "--intent", intent,
                       "--text", "Önce fişini ve su haznesini kontrol edin.")
    assert code == 0, err


@then(parsers.parse('the router routes "{text}" to "{intent}" after retraining'))
def routed_after_retraining(home: Path, asked: dict[str, Any], text: str, intent: str) -> None:
    code, out, err = cli(home, "router", "predict", "--json", text)
    assert code == 0, err
    decision = json.loads(out)
    assert decision["intent"] == intent and not decision["fallback"]
    # The saved model was retrained and saved under the new examples' hash (learned.jsonl included).
    saved = json.loads((home / "router" / "router.json").read_text("utf-8"))
    assert saved["examples_sha256"] != asked["hash_before"]


@then(parsers.parse("router eval on that message shows accuracy {after:f} where it was {before:f}"))
def eval_changed(home: Path, tmp_path: Path, asked: dict[str, Any], after: float, before: float) -> None:
    assert asked["accuracy_before"] == before
    assert eval_accuracy(home, tmp_path, asked["text"], asked["intent"]) == after
