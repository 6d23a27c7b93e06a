"""`evotr demo` (what `make demo` runs) end to end on the real backends, checked by what it stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.domain.feedback import FeedbackKind
from evotr.entrypoints.cli import main
from evotr.entrypoints.demo import DEMO_MESSAGES
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_runs_offline_and_leaves_turns_and_feedback(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    result = CliRunner().invoke(main, ["demo", "--home", str(home)])
    assert result.exit_code == 0, result.output

    assert (home / "models" / "tiny-qwen2" / "config.json").is_file()
    repo = SqliteFeedbackRepository(home / "evotr.db")
    turns = repo.recent_turns(limit=10, session_id="demo")
    assert sorted(t.prompt for t in turns) == sorted(DEMO_MESSAGES)
    assert all(t.source == "demo" and t.timings_ms["generate"] > 0 for t in turns)
    feedback = repo.list_feedback()
    assert [f.kind for f in feedback] == [FeedbackKind.THUMBS_UP]
    assert feedback[0].turn_id in {t.id for t in turns}


def test_demo_twice_reuses_the_model_and_keeps_earlier_data(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    runner = CliRunner()
    assert runner.invoke(main, ["demo", "--home", str(home)]).exit_code == 0
    weights = home / "models" / "tiny-qwen2" / "model.safetensors"
    built_at = weights.stat().st_mtime_ns
    assert runner.invoke(main, ["demo", "--home", str(home)]).exit_code == 0
    assert weights.stat().st_mtime_ns == built_at
    assert SqliteFeedbackRepository(home / "evotr.db").stats().thumbs_up == 2
