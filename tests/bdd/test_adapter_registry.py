"""Steps for features/adapter_registry.feature, on the real filesystem adapter store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import Result
from pytest_bdd import given, parsers, scenarios, then, when

from evotr.application.adapters import AdapterValidationError
from evotr.container import Container
from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.domain.errors import EvoTrError
from evotr.domain.intents import Intent
from tests.bdd.conftest import train_fake_adapter

pytestmark = pytest.mark.bdd
scenarios("adapter_registry.feature")


@given("a home folder with the shipped intent mapping")
def home_with_mapping(container: Container) -> None:
    container.use_cases.init_home().execute()


@given(parsers.parse('adapter "{name}" is trained'))
def trained(container: Container, tmp_path: Path, name: str) -> None:
    train_fake_adapter(container, tmp_path, name)


@given(parsers.parse('adapter "{name}" is trained and promoted'))
def trained_and_promoted(container: Container, tmp_path: Path, name: str) -> None:
    container.use_cases.promote_adapter().execute(train_fake_adapter(container, tmp_path, name))


@when(parsers.parse('I promote "{name}"'))
def promote(container: Container, name: str) -> None:
    container.use_cases.promote_adapter().execute(name)


@when(parsers.parse('I roll back family "{family}"'))
def roll_back(container: Container, family: str) -> None:
    container.use_cases.rollback_adapter().execute(family)


@when(parsers.parse('the folder of "{name}" is deleted'))
def delete_folder(container: Container, name: str) -> None:
    shutil.rmtree(container.storage.adapter_store().path(AdapterVersion.parse(name)))


@when(parsers.parse('the file "{file}" of "{name}" is deleted'))
def delete_file(container: Container, file: str, name: str) -> None:
    (container.storage.adapter_store().path(AdapterVersion.parse(name)) / file).unlink()


@then(parsers.parse('intent "{intent}" is served by the base model'))
def served_by_base(container: Container, intent: str) -> None:
    assert container.use_cases.resolve_adapter().execute(intent) is None


@then(parsers.parse('intent "{intent}" is served by "{name}"'))
def served_by(container: Container, intent: str, name: str) -> None:
    assert container.use_cases.resolve_adapter().execute(intent) == AdapterVersion.parse(name)


@then(parsers.parse('every intent of family "{family}" is served by "{name}"'))
def family_served_by(container: Container, family: str, name: str) -> None:
    intents = container.settings().intents.intents_of(AdapterFamily(family))
    assert len(intents) == 4
    resolve = container.use_cases.resolve_adapter()
    assert {resolve.execute(i) for i in intents} == {AdapterVersion.parse(name)}


@then(parsers.parse('the adapter list says family "{family}" is "{status}"'))
def list_status(container: Container, family: str, status: str) -> None:
    reports = {r.family.name: r for r in container.use_cases.list_adapters().execute()}
    assert reports[family].status == status


@then(parsers.parse('the registry file on disk names "{name}" as active for "{family}"'))
def registry_on_disk(container: Container, name: str, family: str) -> None:
    registry_file = container.settings().adapters_dir / "registry.json"
    document = json.loads(registry_file.read_text("utf-8"))
    assert document["families"][family]["active"] == name


@then(parsers.parse(
    'start-up validation fails naming intent "{intent}", family "{family}" and the folder of "{name}"'))
def validation_fails(container: Container, intent: str, family: str, name: str) -> None:
    with pytest.raises(AdapterValidationError) as caught:
        container.use_cases.validate_adapters().execute()
    folder = str(container.storage.adapter_store().path(AdapterVersion.parse(name)))
    # One problem per broken version, listing every intent it serves.
    (problem,) = caught.value.problems
    assert f"family {family} → {name} (intents " in problem and Intent(intent).value in problem
    assert folder in problem


@then(parsers.parse('promoting "{name}" is refused with a message containing "{text}"'))
def promote_refused(container: Container, name: str, text: str) -> None:
    before = container.storage.adapter_store().load_registry()
    with pytest.raises(EvoTrError) as caught:
        container.use_cases.promote_adapter().execute(name)
    assert text in str(caught.value)
    assert container.storage.adapter_store().load_registry() == before


@then(parsers.parse('rolling back family "{family}" is refused with a message containing "{text}"'))
def rollback_refused(container: Container, family: str, text: str) -> None:
    with pytest.raises(EvoTrError) as caught:
        container.use_cases.rollback_adapter().execute(family)
    assert text in str(caught.value)


@then(parsers.parse('the JSON shows family "{family}" with a problem mentioning "{text}"'))
def json_problem(cli_json: list[dict[str, object]], family: str, text: str) -> None:
    (row,) = [r for r in cli_json if r["family"] == family]
    assert any(text in str(p) for p in row["problems"])  # type: ignore[attr-defined]


@then(parsers.parse('one error line names "{name}" and the intents "{intents}"'))
def output_names_intents(cli_result: Result, name: str, intents: str) -> None:
    lines = [line for line in cli_result.output.splitlines() if line.startswith("error:")]
    (line,) = lines  # once per broken version, not once per intent
    assert f" {name} (intents {intents}): " in line, line
