"""`evotr train -c CONFIG` on the tiny model: versions, manifest, loss.png, promotion, bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.entrypoints.cli.main import main
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from tests.compare_fixtures import DATASET, tiny_home

pytestmark = pytest.mark.integration

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("train_cli") / "tiny")


@pytest.fixture
def home(tmp_path: Path, tiny: Path) -> Path:
    tiny_home(tmp_path / "home", tiny)
    return tmp_path / "home"


def config(tmp_path: Path, **changes: object) -> Path:
    """The shipped tr_chat config with a few lines changed (tiny numbers, the test's paths)."""
    lines = (CONFIGS / "lora_tr_config_v2.yaml").read_text("utf-8").splitlines()
    values = {"iters": 4, "num_layers": 2, "steps_per_eval": 2, "steps_per_report": 2, "learning_rate": 1e-3,
              **changes}
    out = []
    for line in lines:
        key = line.split(":", 1)[0]
        if key in values:
            value = values.pop(key)
            if value is not None:
                out.append(f"{key}: {json.dumps(value)}")
        else:
            out.append(line)
    out += [f"{k}: {json.dumps(v)}" for k, v in values.items() if v is not None]
    file = tmp_path / "lora.yaml"
    file.write_text("\n".join(out) + "\n", "utf-8")
    return file


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], env={"EVOTR_HOME": None})
    return result.exit_code, result.stdout, result.stderr


def test_train_writes_a_version_with_manifest_and_loss_curve_and_promotes_the_first(
    home: Path, tmp_path: Path, tiny: Path,
) -> None:
    # `data` may name a dataset prepared into <home>/data/training/ (as `evotr data prepare` does).
    shutil.copytree(home / "data" / DATASET, home / "data" / "training" / DATASET)
    file = config(tmp_path, data=DATASET, model=str(tiny))
    code, out, err = run(home, "train", "-c", str(file), "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["version"] == "tr_chat_v1" and first["promoted"] is True
    folder = Path(first["folder"])
    assert first["loss_curve"] == str(folder / "loss.png")
    assert (folder / "loss.png").read_bytes().startswith(b"\x89PNG")
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["dataset"] == str(home / "data" / "training" / DATASET)
    assert manifest["base_model"] == str(tiny)
    assert manifest["metrics"]["start_val_loss"] == first["start_val_loss"]
    assert manifest["metrics"]["peak_memory_mb"] > 0
    training = manifest["training"]
    assert training["config"]["learning_rate"] == 1e-3 and training["config"]["family"] == "tr_chat"
    assert training["job"]["mask_prompt"] is True and training["job"]["steps_per_eval"] == 2
    assert len(training["dataset_hash"]) == 16 and len(training["base_model_hash"]) == 16
    assert training["curve"][0]["kind"] == "val" and training["curve"][-1]["iteration"] == 4

    # A second version waits for promotion; --promote makes the third active at once.
    code, out, _ = run(home, "train", "-c", str(file))
    assert code == 0 and "trained tr_chat_v2" in out and "not promoted" in out
    assert "adapters promote tr_chat_v2" in out
    registry = json.loads((home / "adapters" / "registry.json").read_text("utf-8"))
    assert registry["families"]["tr_chat"]["active"] == "tr_chat_v1"
    assert run(home, "train", "-c", str(file), "--promote", "--json")[0] == 0
    registry = json.loads((home / "adapters" / "registry.json").read_text("utf-8"))
    assert registry["families"]["tr_chat"]["active"] == "tr_chat_v3"
    code, out, _ = run(home, "adapters", "show", "tr_chat_v3")
    assert code == 0 and str(home / "adapters" / "tr_chat_v3" / "loss.png") in out


def test_family_and_data_from_the_command_line(home: Path, tmp_path: Path) -> None:
    file = config(tmp_path, family=None, data="nowhere")
    code, out, err = run(home, "train", "-c", str(file), "--family", "python_coder",
                         "--data", str(home / "data" / DATASET), "--json")
    assert code == 0, err
    assert json.loads(out)["version"] == "python_coder_v1"
    assert json.loads(out)["promoted"] is True  # the family's first version
    # The config names another model: evotr trains on the home's and says so.
    assert "is not this home's model" in err


def test_the_memory_friendly_preset_replaces_the_configs_sizes(home: Path, tmp_path: Path,
                                                               tiny: Path) -> None:
    file = config(tmp_path, model=str(tiny), data=str(home / "data" / DATASET))
    code, _, err = run(home, "train", "-c", str(file), "--preset", "memory-friendly")
    # The config says 2 layers; the preset's 8 reach the trainer (the tiny model has only 2).
    assert code == 1 and "num_layers=8 but the base model has only 2 layers" in err
    assert not (home / "adapters" / "tr_chat_v1").exists()


@pytest.mark.parametrize(("changes", "args", "message"), [
    ({"family": None}, [], "no family: set `family:` in the file or pass --family"),
    ({"data": "missing_set"}, [], "dataset 'missing_set' not found"),
    ({"learing_rate": 1e-4}, [], "unknown key; did you mean 'learning_rate'?"),
    ({}, ["--family", "weather"], "unknown family 'weather'"),
])
def test_bad_input_is_one_line_and_registers_nothing(home: Path, tmp_path: Path, tiny: Path,
                                                      changes: dict[str, object], args: list[str],
                                                      message: str) -> None:
    file = config(tmp_path, **{"model": str(tiny), "data": str(home / "data" / DATASET), **changes})
    code, _, err = run(home, "train", "-c", str(file), *args)
    assert code == 1 and message in err and err.count("\n") == 1
    assert not [p for p in (home / "adapters").iterdir() if p.name.startswith(("tr_chat", "python"))]


def test_the_config_runs_unchanged_in_stock_mlx_lm_lora(tmp_path: Path, tiny: Path, home: Path) -> None:
    out = tmp_path / "stock"
    file = config(tmp_path, model=str(tiny), data=str(home / "data" / DATASET), adapter_path=str(out),
                  iters=2, steps_per_eval=None)
    subprocess.run([sys.executable, "-m", "mlx_lm", "lora", "-c", str(file)], check=True, capture_output=True,
                   env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=180)
    written = json.loads((out / "adapter_config.json").read_text("utf-8"))
    assert (written["family"], written["mask_prompt"], written["learning_rate"]) == ("tr_chat", True, 1e-3)
    assert (out / "adapters.safetensors").is_file()
