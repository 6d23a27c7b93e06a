"""`evotr feedback add|list|show|export` on a real SQLite home: the rules of feedback, end to end.

Rules: a correction on an unknown turn and an empty correction are refused with one line and
store nothing; a second verdict on a turn wins (stats, lists, training) and the first stays in
its history; `correct --intent X` stores X and teaches the router that message.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evotr.container import build_container
from evotr.domain.conversation import Message, Role
from evotr.domain.feedback import Feedback, FeedbackKind
from evotr.domain.intents import Intent
from evotr.domain.sampling import SamplingParams
from evotr.domain.turns import TurnId, TurnRecord, new_turn_id
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository

pytestmark = pytest.mark.integration

SYSTEM = Message(Role.SYSTEM, "Sen EVO-TR'sin, Türkçe konuşan bir asistansın.")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    build_container(home=home, env={}).use_cases.init_home().execute()
    return home


@pytest.fixture
def repo(home: Path) -> SqliteFeedbackRepository:
    return SqliteFeedbackRepository(home / "evotr.db")


def add_turn(repo: SqliteFeedbackRepository, prompt: str, reply: str, intent: Intent = Intent.HISTORY,
             history: tuple[Message, ...] = ()) -> TurnId:
    turn = TurnRecord(prompt, reply, intent, 0.9, messages=(SYSTEM, *history, Message(Role.USER, prompt)),
                      sampling=SamplingParams(temperature=0.0))
    return repo.add_turn(turn)


def cli(home: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def cli_json(home: Path, *args: str) -> Any:
    code, out, err = cli(home, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_a_correction_on_an_unknown_turn_is_one_line_naming_it(home: Path,
                                                               repo: SqliteFeedbackRepository) -> None:
    ghost = new_turn_id()
    code, _, err = cli(home, "feedback", "add", ghost, "correct", "--text", "Doğrusu bu.")
    assert code == 1 and ghost in err and err.count("\n") == 1 and err.startswith("error:")
    assert repo.list_feedback() == []


@pytest.mark.parametrize("args", [("--text", "   "), ("-",)])
def test_an_empty_correction_is_refused(home: Path, repo: SqliteFeedbackRepository,
                                        args: tuple[str, ...]) -> None:
    turn = add_turn(repo, "Osmanlı ne zaman kuruldu?", "Bilmiyorum.")
    code, _, err = cli(home, "feedback", "add", turn, "correct", *args, stdin=" \n")
    assert code == 1 and "needs the corrected answer" in err and err.count("\n") == 1
    assert repo.list_feedback() == []


def test_a_second_verdict_wins_and_the_first_stays_in_its_history(home: Path,
                                                                 repo: SqliteFeedbackRepository) -> None:
    turn = add_turn(repo, "Osmanlı ne zaman kuruldu?", "1453'te.")
    other = add_turn(repo, "İstanbul ne zaman fethedildi?", "1453'te.")
    assert cli(home, "feedback", "add", turn, "bad")[0] == 0
    assert cli(home, "feedback", "add", other, "good")[0] == 0
    assert cli(home, "feedback", "add", turn, "correct", "--text", "1299'da kuruldu.")[0] == 0
    stats = cli_json(home, "feedback", "stats")
    assert (stats["total"], stats["corrections"], stats["thumbs_down"], stats["thumbs_up"]) == (2, 1, 0, 1)
    listed = {row["turn_id"]: row for row in cli_json(home, "feedback", "list")}
    assert listed[turn]["kind"] == "correction" and listed[turn]["verdicts"] == 2
    assert listed[turn]["correction"] == "1299'da kuruldu."
    shown = cli_json(home, "feedback", "show", turn)
    history = [(h["kind"], h["current"]) for h in shown["history"]]
    assert history == [("thumbs_down", False), ("correction", True)]
    assert shown["messages"][0] == SYSTEM.as_dict() and shown["messages"][-1]["content"] == shown["prompt"]
    assert shown["sampling"]["temperature"] == 0.0 and shown["messages_recorded"] is True
    # The same rule in what training reads.
    judged = {e.turn_id: e for e in repo.judged_turns()}
    assert judged[turn].kind is FeedbackKind.CORRECTION and judged[other].kind is FeedbackKind.THUMBS_UP
    assert len(repo.list_feedback()) == 3  # nothing was overwritten
    code, out, _ = cli(home, "feedback", "show", turn)
    assert code == 0 and "← current" in out and "thumbs_down" in out and "1299'da kuruldu." in out


def test_list_filters_by_kind_day_and_family(home: Path, repo: SqliteFeedbackRepository) -> None:
    old = add_turn(repo, "Eski soru", "Eski yanıt")
    code_turn = add_turn(repo, "Python liste nasıl sıralanır?", "Bilmem.", Intent.CODE_PYTHON)
    new = add_turn(repo, "Yeni soru", "Yeni yanıt")
    repo.add_feedback(Feedback(old, FeedbackKind.THUMBS_UP, created_at=datetime(2024, 1, 5, tzinfo=UTC)))
    repo.add_feedback(Feedback(code_turn, FeedbackKind.CORRECTION, "sorted(liste) kullan."))
    repo.add_feedback(Feedback(new, FeedbackKind.THUMBS_DOWN))
    ids = lambda *args: [r["turn_id"] for r in cli_json(home, "feedback", "list", *args)]  # noqa: E731
    assert ids() == [old, code_turn, new]
    assert ids("--kind", "bad") == [new] and ids("--kind", "correct") == [code_turn]
    assert ids("--since", "2024-06-01") == [code_turn, new]
    assert ids("--family", "python_coder") == [code_turn] and ids("--family", "tr_chat") == [old, new]
    code, _, err = cli(home, "feedback", "list", "--family", "nope")
    assert code == 1 and "python_coder" in err and "tr_chat" in err and err.count("\n") == 1
    code, out, _ = cli(home, "feedback", "list", "--kind", "good")
    assert code == 0 and old in out


def test_show_of_an_unknown_turn_names_it(home: Path) -> None:
    ghost = new_turn_id()
    code, _, err = cli(home, "feedback", "show", ghost)
    assert code == 1 and ghost in err and err.count("\n") == 1


def test_correct_with_intent_stores_it_and_teaches_the_router_once(home: Path,
                                                                  repo: SqliteFeedbackRepository) -> None:
    turn = add_turn(repo, "Osmanlı mutfağında ne yenirdi?", "Merhaba!", Intent.GENERAL_CHAT)
    for _ in range(2):
        code, out, err = cli(home, "feedback", "add", turn, "correct", "--intent", "history",
                             "--text", "Saray mutfağında pilav ve kebap yenirdi.")
        assert code == 0, err
    assert "router" in out
    learned = (home / "router" / "learned.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in learned] == [{"text": "Osmanlı mutfağında ne yenirdi?",
                                                       "intent": "history"}]
    assert all(f.intent is Intent.HISTORY for f in repo.list_feedback())
    (example,) = repo.judged_turns()
    assert example.intent is Intent.HISTORY  # the correction trains the intended intent's family
    shown = cli_json(home, "feedback", "show", turn)
    assert shown["routed_intent"] == "general_chat" and shown["intent"] == "history"


@pytest.mark.parametrize(("args", "message"), [
    (("correct", "--intent", "tarih", "--text", "x"), "valid: general_chat, turkish_culture"),
    (("good", "--intent", "history"), "--intent goes with `correct`"),
])
def test_a_bad_intent_is_one_line_and_nothing_is_stored(home: Path, repo: SqliteFeedbackRepository,
                                                        args: tuple[str, ...], message: str) -> None:
    turn = add_turn(repo, "Osmanlı mutfağı", "Merhaba!", Intent.GENERAL_CHAT)
    code, _, err = cli(home, "feedback", "add", turn, *args)
    assert code == 1 and message in err and err.count("\n") == 1
    assert repo.list_feedback() == [] and not (home / "router" / "learned.jsonl").exists()
