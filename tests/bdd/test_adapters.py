"""Steps for features/adapters.feature: compare and show on the tiny model, through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pytest_bdd import given, parsers, scenarios, then, when

from evotr.container import Container
from evotr.domain.adapters import AdapterVersion
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from tests.compare_fixtures import (
    DATASET,
    copy_adapter,
    store_adapter,
    tiny_home,
    trained_adapter,
    zero_adapter,
)

pytestmark = [pytest.mark.bdd, pytest.mark.slow]
scenarios("adapters.feature")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def trained_source(tmp_path_factory: pytest.TempPathFactory, tiny: Path) -> Path:
    """Trained once for the module (the tiny model's own tr_chat data); scenarios copy it."""
    from evotr.infrastructure.mlx.tiny_datasets import write_tiny_chat_dataset

    root = tmp_path_factory.mktemp("trained")
    return trained_adapter(root / "adapter", tiny, write_tiny_chat_dataset(root / "data", "tr_chat"))


@given("a home on the tiny model with a tr_chat dataset", target_fixture="tiny_container")
def home_on_tiny(home: Path, tiny: Path) -> Container:
    return tiny_home(home, tiny)


@given(parsers.parse('adapter "{name}" has all-zero LoRA weights'))
def zero(tiny_container: Container, tmp_path: Path, name: str) -> None:
    store_adapter(tiny_container, name, zero_adapter(tmp_path / "src" / name))


@given(parsers.parse('adapter "{name}" is trained on the dataset'))
def trained(tiny_container: Container, tmp_path: Path, trained_source: Path, name: str) -> None:
    store_adapter(tiny_container, name, shutil.copytree(trained_source, tmp_path / "src" / name))


@given(parsers.parse('adapter "{name}" is a copy of "{original}"'))
def copied(tiny_container: Container, tmp_path: Path, name: str, original: str) -> None:
    source = tiny_container.storage.adapter_store().path(AdapterVersion.parse(original))
    store_adapter(tiny_container, name, copy_adapter(source, tmp_path / "src" / name))


@then(parsers.parse('the output warns that "{name}" gives the same greedy answers as the base model'))
def warns_same_as_base(cli_result: Result, name: str) -> None:
    assert "WARNING" in cli_result.stdout
    flat = " ".join(cli_result.stdout.replace("│", " ").split())
    assert f"{name} gives the SAME greedy answers as the base model" in flat


@then(parsers.parse('the output names "{first}" and "{second}" as likely causes'))
def names_causes(cli_result: Result, first: str, second: str) -> None:
    flat = " ".join(cli_result.stdout.replace("│", " ").split())
    assert "Likely causes:" in flat and first in flat and second in flat


@then(parsers.parse('the output has no warning about "{name}"'))
def no_warning_about(cli_result: Result, name: str) -> None:
    flat = " ".join(cli_result.stdout.replace("│", " ").split())
    assert f"{name} gives the SAME" not in flat
    assert f"and {name} give the SAME" not in flat
    assert flat.count("WARNING") == 1, cli_result.stdout


@then(parsers.parse('the JSON warns that "{a}" and "{b}" give the same answers, naming "{cause}"'))
def json_warns_a_equals_b(cli_json: Any, a: str, b: str, cause: str) -> None:
    pairs = [w for w in cli_json["warnings"] if w["models"] == [a, b]]
    assert len(pairs) == 1, cli_json["warnings"]
    assert "V1 = V2" in pairs[0]["warning"]
    assert any(cause in c for c in pairs[0]["likely_causes"]), pairs[0]["likely_causes"]


@then(parsers.parse('the JSON shows 100% identical outputs for "{same}" and less for "{differs}"'))
def json_shares(cli_json: Any, same: str, differs: str) -> None:
    assert cli_json["identical_outputs"][same] == 1.0
    assert cli_json["identical_outputs"][differs] < 1.0


@then(parsers.parse('the JSON shows dataset "{dataset}", learning_rate {lr:g} and its loss curve'))
def json_show(cli_json: Any, home: Path, dataset: str, lr: float) -> None:
    assert cli_json["manifest"]["dataset"] == dataset == DATASET
    assert cli_json["config"]["learning_rate"] == lr
    # The trainer plots loss.png and the store keeps it in the version folder.
    assert cli_json["loss_curve"] == str(home / "adapters" / "tr_chat_v1" / "loss.png")


@given(parsers.parse('a LoRA config for family "{family}" on the dataset'), target_fixture="lora_config")
def lora_config(home: Path, tiny: Path, family: str) -> Path:
    file = home / "lora.yaml"
    file.write_text(
        f"family: {family}\nmodel: {tiny}\ndata: {home / 'data' / DATASET}\niters: 6\nnum_layers: 2\n"
        "batch_size: 2\nlearning_rate: 1.0e-3\nmask_prompt: true\nmax_seq_length: 256\n"
        "lora_parameters:\n  rank: 4\n", "utf-8")
    return file


@when("I train with the config", target_fixture="cli_result")
def train_with_config(home: Path, lora_config: Path) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), "train", "-c", str(lora_config)],
                              env={"EVOTR_HOME": None})


def _served(home: Path) -> str:
    # "Merhaba, nasılsın?" routes to general_chat, one of tr_chat's intents.
    result = CliRunner().invoke(main, ["--home", str(home), "ask", "--json", "Merhaba, nasılsın?"],
                                env={"EVOTR_HOME": None})
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["adapter"])


@then(parsers.parse('family "{family}" serves "{version}" to the next message'))
def serves(home: Path, family: str, version: str) -> None:
    assert version.startswith(family) and _served(home) == version


@then(parsers.parse('version "{new}" exists and family "{family}" serves "{version}" to the next message'))
def exists_and_serves(home: Path, new: str, family: str, version: str) -> None:
    assert (home / "adapters" / new / "manifest.json").is_file()
    serves(home, family, version)
