"""`adapters list` shows the active version's key training metrics from its manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.container import build_container
from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterVersion
from evotr.entrypoints.cli.main import main
from evotr.entrypoints.cli.render import val_loss_summary
from tests.adapter_fixtures import write_fake_mlx_adapter

pytestmark = pytest.mark.integration


def test_list_shows_the_active_versions_val_loss(tmp_path: Path) -> None:
    home = tmp_path / "home"
    container = build_container(home=home, env={})
    container.use_cases.init_home().execute()
    version = AdapterVersion.parse("tr_chat_v2")
    metrics = {"start_val_loss": 3.074, "final_val_loss": 0.257, "improvement_pct": 91.6}
    container.storage.adapter_store().add(version, write_fake_mlx_adapter(tmp_path / "run"),
                                          AdapterManifest(version, base_model="tiny", metrics=metrics))
    container.use_cases.promote_adapter().execute(version)
    result = CliRunner().invoke(main, ["--home", str(home), "adapters", "list", "--json"])
    assert result.exit_code == 0, result.output
    [chat] = [r for r in json.loads(result.stdout) if r["family"] == "tr_chat"]
    assert chat["metrics"] == metrics
    table = CliRunner().invoke(main, ["--home", str(home), "adapters", "list"], env={"COLUMNS": "200"})
    assert "3.074 → 0.257 (−92%)" in table.stdout


def test_val_loss_summary() -> None:
    assert val_loss_summary({}) == "—"
    assert val_loss_summary({"final_val_loss": 1.5}) == "1.500"
    assert val_loss_summary({"start_val_loss": 2.0, "final_val_loss": 2.5, "improvement_pct": -25.0}) == (
        "2.000 → 2.500 (+25%)")
