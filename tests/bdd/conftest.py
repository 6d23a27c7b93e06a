"""Steps shared by several features: running the CLI and reading its output."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pytest_bdd import given, parsers, then, when

from evotr.container import Container, build_container
from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterVersion
from evotr.entrypoints.cli.main import main
from tests.adapter_fixtures import write_fake_mlx_adapter


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def container(home: Path) -> Container:
    return build_container(home=home, env={})


@given("an initialised home folder")
def initialised_home(container: Container) -> None:
    container.use_cases.init_home().execute()


@when(parsers.parse('I run "{command}"'), target_fixture="cli_result")
def run_cli(home: Path, command: str) -> Result:
    words = shlex.split(command)
    assert words[0] == "evotr"
    return CliRunner().invoke(main, ["--home", str(home), *words[1:]], env={"EVOTR_HOME": None})


@then("the command succeeds")
def command_succeeds(cli_result: Result) -> None:
    assert cli_result.exit_code == 0, cli_result.output


@pytest.fixture
def cli_json(cli_result: Result) -> Any:
    return json.loads(cli_result.stdout)


@then(parsers.parse('the output contains "{text}"'))
def output_contains(cli_result: Result, text: str) -> None:
    assert text in cli_result.output


@then("the command fails")
def command_fails(cli_result: Result) -> None:
    assert cli_result.exit_code != 0, cli_result.output


def train_fake_adapter(container: Container, tmp_path: Path, name: str) -> AdapterVersion:
    """Stand-in for `evotr train`: mlx-lm adapter files added to the store and registered."""
    version = AdapterVersion.parse(name)
    source = write_fake_mlx_adapter(tmp_path / "trained" / name, seed=version.number)
    store = container.storage.adapter_store()
    store.add(version, source, AdapterManifest(version, base_model="tiny", dataset="bdd"))
    store.update_registry(lambda registry: registry.register(version))
    return version
