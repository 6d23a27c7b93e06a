"""`evotr demo --tiny` (the quick path of `make demo`) end to end on the real backends, checked by
what it stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.domain.adapters import AdapterFamily
from evotr.domain.feedback import FeedbackKind
from evotr.entrypoints.cli.demo import SCRIPT
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.filesystem.adapter_store import FilesystemAdapterStore
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MESSAGES = [line for line in SCRIPT if not line.startswith("/")]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo") / "home"
    result = CliRunner().invoke(main, ["demo", "--tiny", "--home", str(home)])
    assert result.exit_code == 0, result.output
    return home


def test_demo_trains_and_promotes_one_adapter_per_family(demo_home: Path) -> None:
    store = FilesystemAdapterStore(demo_home / "adapters")
    registry = store.load_registry()
    for family in ("tr_chat", "python_coder"):
        active = registry.active(AdapterFamily(family))
        assert active is not None and store.problems(active) == []
        manifest = store.manifest(active)
        assert manifest is not None
        assert manifest.metrics["final_val_loss"] < manifest.metrics["start_val_loss"]  # type: ignore[operator]


def test_demo_session_switches_adapters_per_message_and_stores_feedback(demo_home: Path) -> None:
    repo = SqliteFeedbackRepository(demo_home / "evotr.db")
    turns = list(reversed(repo.recent_turns(limit=50)))
    assert [t.prompt for t in turns] == MESSAGES
    used = {t.adapter.family.name if t.adapter else None for t in turns}
    assert {"tr_chat", "python_coder", None} <= used  # both adapters and, after /adapter none, the base
    by_prompt = {t.prompt: t for t in turns}
    assert by_prompt["Bana bir fıkra anlatır mısın?"].adapter is None
    feedback = {(f.kind, f.turn_id) for f in repo.list_feedback()}
    assert feedback == {
        (FeedbackKind.THUMBS_UP, by_prompt["Python'da liste nasıl oluşturulur?"].id),
        (FeedbackKind.CORRECTION, by_prompt["5+3 kaç eder?"].id),
    }


def test_demo_again_reuses_model_and_adapters(demo_home: Path) -> None:
    weights = demo_home / "models" / "tiny-qwen2" / "model.safetensors"
    built_at = weights.stat().st_mtime_ns
    versions_before = FilesystemAdapterStore(demo_home / "adapters").versions()
    assert CliRunner().invoke(main, ["demo", "--tiny", "--home", str(demo_home)]).exit_code == 0
    assert weights.stat().st_mtime_ns == built_at
    assert FilesystemAdapterStore(demo_home / "adapters").versions() == versions_before
    assert SqliteFeedbackRepository(demo_home / "evotr.db").stats().thumbs_up == 2
