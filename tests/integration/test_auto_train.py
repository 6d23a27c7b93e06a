"""feedback.auto_train: the detached `feedback train` process, its lock and log, the CLI that starts it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.container import build_container
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.process.background_training import DetachedFeedbackTraining, TrainingBusyError
from tests.cli_homes import memory_llm_home
from tests.fakes.learning import add_judged_turns

pytestmark = pytest.mark.integration


def fake_python(tmp_path: Path, seconds: float) -> Path:
    """Stands in for the interpreter: records its arguments and environment, sleeps, exits."""
    script = tmp_path / "python"
    script.write_text(f"""#!/bin/sh
echo "args: $*" > {tmp_path}/called.txt
echo "held: $EVOTR_TRAIN_LOCK_HELD" >> {tmp_path}/called.txt
echo "training..."
sleep {seconds}
""", "utf-8")
    script.chmod(0o755)
    return script


def wait_until_free(runner: DetachedFeedbackTraining, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while runner.current() is not None:
        assert time.monotonic() < deadline, "the background run never released its lock"
        time.sleep(0.1)


def test_a_background_run_holds_the_lock_until_it_exits_and_a_second_one_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    runner = DetachedFeedbackTraining(home, python=str(fake_python(tmp_path, 1.5)))
    run = runner.start("tr_chat")
    assert run is not None and run.pid and run.family == "tr_chat"
    assert os.getsid(run.pid) != os.getsid(0)  # detached: its own session, no Ctrl-C from the chat
    assert runner.start("python_coder") is None  # one at a time
    current = runner.current()
    assert current is not None and (current.family, current.pid) == ("tr_chat", run.pid)
    busy = pytest.raises(TrainingBusyError, match=r"\(tr_chat\) is running since .*pid")
    with busy, runner.hold("tr_chat"):
        pass
    wait_until_free(runner)
    called = (tmp_path / "called.txt").read_text("utf-8")
    assert f"-m evotr --home {home.resolve()} feedback train --family tr_chat" in called
    assert "held: 1" in called
    log = (home / "logs" / "auto_train.log").read_text("utf-8")
    assert "feedback train --family tr_chat ===" in log and "training..." in log
    with runner.hold("tr_chat"):  # free again: a run typed by hand may go
        assert runner.current() is not None
    assert runner.start("tr_chat") is not None
    wait_until_free(runner)


def test_the_tenth_correction_starts_the_real_command_in_the_background_and_stats_show_it(
        tmp_path: Path) -> None:
    home = memory_llm_home(tmp_path / "home")
    config = home / "evotr.yaml"
    text = config.read_text("utf-8")
    assert "auto_train: false" in text
    config.write_text(text.replace("auto_train: false", "auto_train: true"), "utf-8")
    container = build_container(home=home, env={})
    container.use_cases.init_home().execute()
    add_judged_turns(container.storage.feedback_repository(), 10, kind="thumbs_down")  # then corrected

    def cli(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["--home", str(home), *args], env={"EVOTR_HOME": None})
        return result.exit_code, result.output

    for n, turn in enumerate(container.storage.feedback_repository().judged_turns()):
        code, out = cli("feedback", "add", turn.turn_id, "correct", "--text", f"Doğrusu {n}.")
        assert code == 0, out
        if n < 9:
            assert "training tr_chat in the background" not in out
    assert "🔁 tr_chat eğitimi arka planda başladı / training tr_chat in the background (pid" in out
    code, stats = cli("feedback", "stats", "--json")
    state = json.loads(stats)["auto_train"]
    assert code == 0 and state["enabled"] is True
    runner = container.storage.background_training()
    wait_until_free(runner, 120.0)  # the real `python -m evotr feedback train` ran and exited
    log = (home / "logs" / "auto_train.log").read_text("utf-8")
    assert "feedback train --family tr_chat ===" in log
    # This home's model is a hub id that cannot be fetched here: the run fails, registers nothing,
    # and its one-line error is in the log.
    assert "error:" in log, log
    assert [v.name for v in container.storage.adapter_store().versions()] == []
