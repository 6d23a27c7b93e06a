"""`evotr ask` and piped `evotr chat` through Click, on SQLite and the filesystem store (in-memory LLM)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.domain.feedback import FeedbackKind
from evotr.entrypoints.cli.main import main
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


def test_ask_json_from_stdin_prints_the_stored_reply(home: Path) -> None:
    code, out, _ = run(home, ["ask", "--json", "-"], "Merhaba, nasılsın?\n".encode())
    assert code == 0
    reply = json.loads(out)
    turn = SqliteFeedbackRepository(home / "evotr.db").get_turn(reply["turn_id"])
    assert turn is not None
    stored = (turn.reply, turn.intent.value, turn.fallback)
    assert stored == (reply["text"], reply["intent"], reply["fallback"])
    assert set(reply["timings_ms"]) >= {"route", "prompt", "generate", "persist", "total"}


def test_ask_streams_plain_text_and_honours_adapter_none(home: Path) -> None:
    code, out, _ = run(home, ["ask", "Python liste oluştur", "--adapter", "none"])
    assert code == 0 and "Python liste oluştur" in out
    (turn,) = SqliteFeedbackRepository(home / "evotr.db").recent_turns()
    assert turn.adapter is None


@pytest.mark.parametrize(("stdin", "message"), [
    (b"\xff\xfe bozuk", "not valid UTF-8"),
    (b"   \n", "message: is empty"),
])
def test_ask_rejects_bad_input_with_one_line(home: Path, stdin: bytes, message: str) -> None:
    code, _, err = run(home, ["ask", "-"], stdin)
    assert code == 1 and message in err and err.count("\n") == 1
    db = home / "evotr.db"
    assert not db.exists() or SqliteFeedbackRepository(db).recent_turns() == []


def test_ask_rejects_an_unknown_adapter_family(home: Path) -> None:
    code, _, err = run(home, ["ask", "Merhaba", "--adapter", "weather"])
    assert code == 1 and "unknown family 'weather'" in err


def test_piped_chat_records_feedback_and_survives_bad_lines(home: Path) -> None:
    lines = ["/good", "Merhaba", "/good", None, "Osmanlı tarihi anlat", "/correct Doğrusu bu.", "/bogus",
             "/quit", "sonra"]
    script = b"".join(b"\xff\xfe\n" if line is None else f"{line}\n".encode() for line in lines)
    code, out, err = run(home, ["chat"], script)
    assert code == 0
    assert "there is no answer yet" in out            # /good before any answer: an error, not a crash
    assert "stdin line 4 is not valid UTF-8" in err
    assert "unknown command: /bogus" in out
    repo = SqliteFeedbackRepository(home / "evotr.db")
    turns = repo.recent_turns()
    assert [t.prompt for t in turns] == ["Osmanlı tarihi anlat", "Merhaba"]  # "sonra" came after /quit
    kinds = {(f.kind, f.turn_id) for f in repo.list_feedback()}
    assert kinds == {(FeedbackKind.THUMBS_UP, turns[1].id), (FeedbackKind.CORRECTION, turns[0].id)}


def test_chat_flags_verbose_and_adapter_none(home: Path) -> None:
    code, out, _ = run(home, ["chat", "--verbose", "--adapter", "none"], "Python liste oluştur\n")
    assert code == 0
    (turn,) = SqliteFeedbackRepository(home / "evotr.db").recent_turns()
    assert turn.adapter is None
    # The verbose line shows what the stored turn records.
    assert f"[{turn.intent.value}{' (fallback)' if turn.fallback else ''} · " in out
    assert f"{turn.confidence:.0%} · base model]" in out
