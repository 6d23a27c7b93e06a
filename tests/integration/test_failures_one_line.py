"""Each failure a user met as a traceback is now one `error:` line that names the path (issue 8)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.domain.errors import DomainValidationError
from evotr.entrypoints.cli.main import main
from evotr.entrypoints.library import build_assistant
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository
from tests.cli_homes import memory_llm_home
from tests.readonly import make_read_only, run_cli_unprivileged, shared_tmp

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EVOTR = str(Path(sys.executable).with_name("evotr"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return memory_llm_home(tmp_path / "home")


def run(home: Path, args: list[str], stdin: bytes | str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_a_non_utf8_command_line_argument_is_one_line(home: Path) -> None:
    result = subprocess.run([EVOTR, "--home", str(home), "ask", b"selam \xff"], capture_output=True,
                            env=os.environ, timeout=120, check=False)
    line = one_error_line(result.stderr.decode())
    assert result.returncode == 1
    assert "message: is not valid UTF-8 (byte 0xff at character 7)" in line
    assert result.stdout == b""


def test_lone_surrogates_through_the_library_are_refused_and_nothing_is_stored(home: Path) -> None:
    assistant = build_assistant(home=home, source="library")
    reply = assistant.chat("Merhaba")
    with pytest.raises(DomainValidationError, match=r"lone surrogate U\+D800 at character 7"):
        assistant.chat("selam \ud800")
    with pytest.raises(DomainValidationError, match="correction: contains a lone surrogate"):
        assistant.feedback(reply.turn_id, ("correction", "doğrusu \udfff"))
    repo = SqliteFeedbackRepository(home / "evotr.db")
    assert [t.prompt for t in repo.recent_turns()] == ["Merhaba"] and repo.list_feedback() == []


def test_unknown_adapter_in_chat_is_refused_at_once_and_the_repl_keeps_working(home: Path) -> None:
    code, _, err = run(home, ["chat", "--adapter", "bogus"], "Merhaba\n")
    assert code == 1 and "unknown family 'bogus'" in one_error_line(err)

    code, out, _ = run(home, ["chat"], "/adapter bogus\nMerhaba\n/good\n")
    assert code == 0
    assert "unknown family 'bogus'" in out and "adapter: bogus" not in out
    repo = SqliteFeedbackRepository(home / "evotr.db")
    (turn,) = repo.recent_turns()  # the message after the refused /adapter was answered (auto)
    assert [f.turn_id for f in repo.list_feedback()] == [turn.id]


def test_help_shows_the_bracketed_verbose_line(home: Path) -> None:
    code, out, _ = run(home, ["chat"], "/help\n")
    assert code == 0 and "[intent · güven · adapter]" in out


def test_control_characters_from_the_model_are_escaped_in_the_terminal(home: Path) -> None:
    # The in-memory model echoes the message, so the reply carries ESC, BEL and a bidi override.
    message = "renk \x1b[31mKIRMIZI\x1b]0;başlık\x07 \u202etxt.exe\n"
    code, out, _ = run(home, ["chat"], message)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b[31mKIRMIZI" in out and "\\u202etxt.exe" in out
    code, out, _ = run(home, ["ask", message.strip()])
    assert code == 0 and "\x1b" not in out and "\\x1b[31m" in out
    # The stored reply keeps the model's exact text; only the terminal view is escaped.
    stored = SqliteFeedbackRepository(home / "evotr.db").recent_turns()[0].reply
    assert "\x1b[31m" in stored


def test_a_read_only_database_refuses_before_answering() -> None:
    with shared_tmp() as scratch:
        home = memory_llm_home(scratch / "home")
        assert run(home, ["ask", "Merhaba"])[0] == 0
        db = home / "evotr.db"
        before = db.read_bytes()
        make_read_only(db)
        result = run_cli_unprivileged(["--home", str(home), "ask", "Osmanlı tarihi anlat"])
        line = one_error_line(result.stderr.decode())
        assert result.returncode == 1
        assert str(db) in line and ("read-only" in line or "not writable" in line)
        assert result.stdout == b""  # no answer was generated that could not be stored
        assert db.read_bytes() == before


def test_a_damaged_database_is_one_line_in_ask_and_in_chat(home: Path) -> None:
    assert run(home, ["ask", "Merhaba"])[0] == 0
    db = home / "evotr.db"
    with sqlite3.connect(db) as conn:  # fold the WAL into the file, so the damage is what is read
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)  # keep the header page, damage the tables
    db.write_bytes(bytes(data))

    code, out, err = run(home, ["ask", "Python liste oluştur"])
    line = one_error_line(err)
    assert code == 1 and str(db) in line and "damaged" in line and out == ""

    code, out, err = run(home, ["chat"], "Merhaba\n/good\n")
    line = one_error_line(err)  # chat does not start on a database it could not store answers in
    assert code == 1 and str(db) in line and "damaged" in line and out == ""


def test_a_truncated_model_file_and_missing_tokenizer_are_one_line(tmp_path: Path) -> None:
    from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

    model = ensure_tiny_model(tmp_path / "tiny", seed=0)
    truncated = tmp_path / "truncated"
    shutil.copytree(model, truncated)
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    no_tokenizer = tmp_path / "no-tokenizer"
    shutil.copytree(model, no_tokenizer)
    for file in no_tokenizer.glob("tokenizer*"):
        file.unlink()

    for folder, expected in ((truncated, "exceeding the size of the file"),
                             (no_tokenizer, "missing tokenizer files")):
        home = tmp_path / f"home-{folder.name}"
        code, out, err = _run_global(home, ["--model", str(folder)], ["ask", "Merhaba"])
        line = one_error_line(err)
        assert code == 1 and str(folder) in line and expected in line and out == ""


def _run_global(home: Path, options: list[str], args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *options, *args])
    return result.exit_code, result.stdout, result.stderr


def test_an_unexpected_error_is_one_line_and_v_shows_the_traceback(home: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from evotr.application.feedback import GetFeedbackStats

    def broken(self: GetFeedbackStats) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(GetFeedbackStats, "execute", broken)
    assert run(home, ["init"])[0] == 0
    code, _, err = run(home, ["feedback", "stats"])
    line = one_error_line(err)
    assert code == 2 and "unexpected ZeroDivisionError: division by zero" in line and "evotr -v" in line
    result = CliRunner().invoke(main, ["-v", "--home", str(home), "feedback", "stats"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_ask_json_still_prints_a_reply_object(home: Path) -> None:
    code, out, _ = run(home, ["ask", "--json", "Merhaba"])
    assert code == 0 and json.loads(out)["turn_id"]


def test_a_full_database_mid_session_is_one_line_and_the_chat_goes_on(home: Path) -> None:
    import io

    from evotr.container import build_container
    from evotr.entrypoints.cli.chat_repl import Repl
    from evotr.entrypoints.library import assistant_for

    container = build_container(None, home)
    assistant = assistant_for(container, source="cli")
    out = io.StringIO()
    repl = Repl(assistant, out)
    repl.run(["Merhaba"])
    repo = container.storage.feedback_repository()
    # A real SQLITE_FULL: the database may not grow by another page, as on a full disk.
    conn = repo._conn
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    repl.run(["/correct " + "uzun bir düzeltme " * 2000, "/stats"])
    text = out.getvalue()
    assert f"error: {home / 'evotr.db'}: cannot store the feedback: database or disk is full" in text
    assert "free some space" in text and "Toplam feedback" in text  # /stats still answers after it
    assert repo.list_feedback() == []
