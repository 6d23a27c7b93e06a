"""The home folder (issue 8): a file in its way, a typo, a read-only disk, private modes, and
paths in evotr.yaml relative to the file — each met through the real CLI on real files.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.entrypoints.cli.main import main
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository
from tests.readonly import make_read_only, run_cli_unprivileged, shared_tmp

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def memory_llm_config(folder: Path, **replace: str) -> Path:
    """An evotr.yaml in ``folder`` serving the in-memory LLM, with the shipped intents."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (REPO / "configs" / "evotr.yaml").read_text("utf-8")
    text = text.replace("  llm: mlx ", "  llm: memory ")
    text = text.replace("intents_file: intents.yaml", f"intents_file: {REPO / 'configs' / 'intents.yaml'}")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    (folder / "evotr.yaml").write_text(text, "utf-8")
    return folder / "evotr.yaml"


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, env=env)
    return result.exit_code, result.stdout, result.stderr


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- a file where the home should be ---------------------------------------------------------

@pytest.mark.parametrize("under", [False, True], ids=["is-a-file", "under-a-file"])
@pytest.mark.parametrize("command", [["init"], ["feedback", "stats"], ["ask", "Merhaba"]])
def test_evotr_home_at_a_file_is_one_line_naming_it(tmp_path: Path, under: bool, command: list[str]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n", "utf-8")
    home = notes / "evotr" if under else notes
    code, _, err = invoke(command, env={"EVOTR_HOME": str(home)})
    line = one_error_line(err)
    assert code == 1
    assert line.startswith(f"error: EVOTR_HOME={home}: {home} ")
    assert f"{notes}, which is a file" in line if under else "is a file, not a folder" in line
    assert "evotr init --home DIR" in line
    assert notes.read_text("utf-8") == "mine\n"


def test_home_option_at_a_file_is_our_line_not_a_usage_error(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n", "utf-8")
    code, _, err = invoke(["--home", str(notes), "feedback", "stats"])
    assert code == 1
    assert one_error_line(err) == (f"error: --home: {notes} is a file, not a folder; "
                                   "point it at a folder (`evotr init --home DIR` creates one)")


def test_the_config_home_key_at_a_file_names_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("", "utf-8")
    config = memory_llm_config(tmp_path / "cfg", **{"# home: .evotr": "home: ../taken"})
    code, _, err = invoke(["--config", str(config), "init"])
    line = one_error_line(err)
    home_line = config.read_text("utf-8").splitlines().index("home: ../taken") + 1
    assert code == 1 and line.startswith(f"error: {config}:{home_line}: home: ")
    assert "is a file, not a folder" in line


# --- a mistyped home is not created by commands that only read it ----------------------------

READERS = [
    ["feedback", "stats"], ["adapters", "list"], ["adapters", "check"],
    ["router", "predict", "Merhaba"], ["router", "eval", "--data", "{data}"], ["data", "stats"],
]


@pytest.mark.parametrize("command", READERS, ids=[" ".join(c[:2]) for c in READERS])
def test_a_reading_command_on_a_missing_home_says_so_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    typo = tmp_path / ".evotr-dmeo"
    data = tmp_path / "labelled.jsonl"
    data.write_text('{"text": "Merhaba", "intent": "general_chat"}\n', "utf-8")
    code, out, err = invoke(["--home", str(typo), *(a.format(data=data) for a in command)])
    assert code == 1 and out == ""
    assert one_error_line(err) == (
        f"error: home folder: {typo} does not exist; create it with `evotr init --home {typo}`, "
        "or check --home / EVOTR_HOME for a typo")
    assert not typo.exists()


def test_the_default_home_is_not_created_by_feedback_stats_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke(["feedback", "stats"])
    assert code == 1 and "home folder: .evotr does not exist" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


# --- a read-only home: refused before anything is generated ----------------------------------

@pytest.mark.parametrize("layout_complete", [True, False], ids=["complete", "a-folder-missing"])
def test_a_read_only_home_refuses_ask_before_answering_and_keeps_the_db(layout_complete: bool) -> None:
    with shared_tmp() as scratch:
        home = scratch / "home"
        memory_llm_config(home)
        assert invoke(["--home", str(home), "ask", "Merhaba"])[0] == 0
        before = (home / "evotr.db").read_bytes()
        if not layout_complete:  # e.g. a home made before logs/ existed: init wants to add it
            (home / "logs").rmdir()
        make_read_only(home)
        result = run_cli_unprivileged(["--home", str(home), "ask", "Osmanlı tarihi anlat"])
        line = one_error_line(result.stderr.decode())
        assert result.returncode == 1 and result.stdout == b""
        assert line.startswith(f"error: home folder: {home} is not writable (")
        assert "nothing was generated or changed" in line and f"chmod -R u+w {home}" in line
        assert (home / "evotr.db").read_bytes() == before


# --- private modes ----------------------------------------------------------------------------

def test_init_makes_the_home_0700_and_the_database_0600(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert invoke(["--home", str(home), "init"])[0] == 0
    assert mode(home) == 0o700
    assert mode(home / "evotr.db") == 0o600
    assert mode(home / "evotr.yaml") == 0o600


def test_an_existing_world_readable_database_is_tightened_and_its_wal_files_are_private(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    memory_llm_config(home)
    assert invoke(["--home", str(home), "ask", "Merhaba"])[0] == 0
    (home / "evotr.db").chmod(0o644)
    assert invoke(["--home", str(home), "feedback", "stats"])[0] == 0
    assert mode(home / "evotr.db") == 0o600
    # SQLite deletes -wal/-shm when the last connection closes: look while one is open.
    repo = SqliteFeedbackRepository(home / "evotr.db")
    assert repo.stats().total == 0
    conn = sqlite3.connect(home / "evotr.db")
    conn.execute("select count(*) from sqlite_master").fetchall()
    try:
        wal_files = [home / "evotr.db-wal", home / "evotr.db-shm"]
        assert all(p.exists() for p in wal_files)
        assert {mode(p) for p in wal_files} == {0o600}
    finally:
        conn.close()


# --- paths in evotr.yaml are relative to the file ---------------------------------------------

def test_home_in_a_config_is_relative_to_that_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = memory_llm_config(tmp_path / "project", **{"# home: .evotr": "home: state"})
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert invoke(["--config", str(config), "ask", "Merhaba"])[0] == 0
    assert SqliteFeedbackRepository(tmp_path / "project" / "state" / "evotr.db").stats().total == 0
    assert len(SqliteFeedbackRepository(tmp_path / "project" / "state" / "evotr.db").recent_turns()) == 1
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_the_home_copy_of_the_config_finds_its_home_when_used_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert invoke(["--home", str(home), "init"])[0] == 0
    code, out, _ = invoke(["--config", str(home / "evotr.yaml"), "adapters", "list", "--json"])
    assert code == 0 and "tr_chat" in out


def test_a_missing_relative_model_folder_is_named_resolved_never_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = memory_llm_config(tmp_path / "cfg", **{
        "  llm: memory ": "  llm: mlx ",
        "path: mlx-community/Qwen2.5-3B-Instruct-4bit": "path: ./models/tiny"})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(["--config", str(config), "--home", str(tmp_path / "h"), "ask", "Merhaba"])
    line = one_error_line(err)
    assert code == 1 and out == ""
    assert repr(os.path.join(tmp_path, "cfg", "models", "tiny")) in line
    assert "does not exist" in line and "hub" not in line.split("does not exist")[0]
