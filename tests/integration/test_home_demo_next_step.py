"""The step after `make demo` (issue 8.5): run the demo like `make demo` does, then run the exact
command it printed, in the same working directory, and check the answer is stored.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evotr.container import build_container
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVOTR = Path(sys.executable).with_name("evotr")


def environment() -> dict[str, str]:
    # No hub: a command that tried to download would fail at once instead of hanging.
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVOTR_")}
    # evotr is not on PATH, as after `make demo` without an activated venv.
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if Path(p).resolve() != EVOTR.parent.resolve())
    return {**env, "HF_HUB_OFFLINE": "1"}


def run(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, text=True,
                          env=environment(), timeout=600, check=False)


def printed_next_commands(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Next: "))
    return [line.strip() for line in lines[start + 1:] if line.strip()]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("project")


@pytest.fixture(scope="module")
def demo_output(workdir: Path) -> str:
    # What the Makefile runs: a relative path to the venv's evotr, --home .evotr-demo.
    program = os.path.relpath(EVOTR, workdir)
    result = run([program, "demo", "--tiny", "--home", ".evotr-demo"], workdir)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_demo_ends_with_commands_that_run_as_printed(demo_output: str, workdir: Path) -> None:
    program = shlex.quote(os.path.relpath(EVOTR, workdir))
    assert printed_next_commands(demo_output) == [
        f"{program} --home .evotr-demo chat",
        f'{program} --home .evotr-demo ask "Merhaba"',
    ]


def test_the_printed_chat_command_answers_with_the_demo_model_and_stores_the_turn(
    demo_output: str, workdir: Path
) -> None:
    home = workdir / ".evotr-demo"
    before = len(SqliteFeedbackRepository(home / "evotr.db").recent_turns(limit=100))
    chat, ask = printed_next_commands(demo_output)
    result = run(shlex.split(chat), workdir, stdin="Merhaba\n")
    assert result.returncode == 0, result.stderr
    result = run(shlex.split(ask), workdir)
    assert result.returncode == 0, result.stderr
    turns = SqliteFeedbackRepository(home / "evotr.db").recent_turns(limit=100)
    assert len(turns) == before + 2
    assert [t.prompt for t in turns[:2]] == ["Merhaba", "Merhaba"]
    assert result.stdout.strip() == turns[0].reply.strip() != ""
    # The home's own evotr.yaml names the demo's model, its backends and its sampling.
    settings = build_container(home / "evotr.yaml", home, env={}).settings()
    assert settings.model.path == str(home / "models" / "tiny-qwen2")
    assert (settings.backends["llm"], settings.backends["trainer"]) == ("mlx", "mlx")
    assert (settings.sampling.max_tokens, settings.sampling.seed) == (24, 0)


def test_a_second_demo_on_a_home_made_by_an_older_demo_repoints_it_and_keeps_other_edits(
    demo_output: str, workdir: Path
) -> None:
    home = workdir / ".evotr-demo"
    config = home / "evotr.yaml"
    # What an older demo left: the hub id and the default sampling; plus a user's own edit.
    text = config.read_text("utf-8")
    for old, new in [("path: ./models/tiny-qwen2", "path: mlx-community/Qwen2.5-3B-Instruct-4bit"),
                     ("max_tokens: 24", "max_tokens: 512"),
                     ("threshold: 0.7 ", "threshold: 0.65 ")]:
        assert old in text
        text = text.replace(old, new)
    config.write_text(text, "utf-8")
    result = run([os.path.relpath(EVOTR, workdir), "demo", "--tiny", "--home", ".evotr-demo"], workdir)
    assert result.returncode == 0, result.stderr
    assert "already trained and active" in result.stdout
    after = config.read_text("utf-8")
    assert after == text.replace("path: mlx-community/Qwen2.5-3B-Instruct-4bit",
                                 "path: ./models/tiny-qwen2").replace("max_tokens: 512", "max_tokens: 24")
    # A third run has nothing left to change.
    again = run([os.path.relpath(EVOTR, workdir), "demo", "--tiny", "--home", ".evotr-demo"], workdir)
    assert again.returncode == 0
    assert config.read_text("utf-8") == after
    assert yaml.safe_load(after)["router"]["threshold"] == 0.65


def test_a_model_the_user_chose_in_the_demo_home_is_kept(demo_output: str, workdir: Path) -> None:
    home = workdir / ".evotr-demo"
    config = home / "evotr.yaml"
    mine = home / "models" / "my-model"
    config.write_text(config.read_text("utf-8").replace("path: ./models/tiny-qwen2",
                                                        f"path: {mine}"), "utf-8")
    result = run([os.path.relpath(EVOTR, workdir), "demo", "--tiny", "--home", ".evotr-demo"], workdir)
    assert result.returncode == 0, result.stderr
    said = "".join(result.stdout.split())  # rich may wrap the line anywhere
    assert f"keptyourownmodel.path:{mine}" in said
    assert f"path: {mine}" in config.read_text("utf-8")
