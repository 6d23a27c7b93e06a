"""Steps for features/intent_mapping.feature."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from evotr.application.settings import Settings
from evotr.domain.adapters import AdapterFamily
from evotr.domain.errors import EvoTrError
from evotr.domain.intents import Intent
from evotr.infrastructure.config.loader import load_settings

pytestmark = pytest.mark.bdd
scenarios("intent_mapping.feature")


@given("the shipped configuration", target_fixture="configs_dir")
def shipped(shipped_configs: Path) -> Path:
    return shipped_configs


def _load(configs_dir: Path) -> Settings:
    return load_settings(configs_dir / "evotr.yaml", home=configs_dir / "home", env={})


@then(parsers.parse('intents "{intents}" map to family "{family}"'))
def mapped(configs_dir: Path, intents: str, family: str) -> None:
    mapping = _load(configs_dir).intents
    for name in intents.split(", "):
        assert mapping.family_for(Intent(name)) == AdapterFamily(family)


@then(parsers.parse('the JSON lists families "{families}" with the intents of the mapping'))
def json_families(cli_json: Any, families: str, configs_dir: Path) -> None:
    mapping = _load(configs_dir).intents
    assert [row["family"] for row in cli_json] == families.split(", ")
    for row in cli_json:
        assert row["intents"] == [i.value for i in mapping.intents_of(AdapterFamily(row["family"]))]


@when(parsers.parse('the mapping sends intent "{intent}" to family "{family}"'))
def remap(configs_dir: Path, intent: str, family: str) -> None:
    path = configs_dir / "intents.yaml"
    text = path.read_text("utf-8")
    pattern = re.compile(rf"(^  {intent}:\n    family: )\w+", re.MULTILINE)
    assert pattern.search(text)
    path.write_text(pattern.sub(rf"\g<1>{family}", text), "utf-8")


@when(parsers.parse('the mapping leaves out intent "{intent}"'))
def leave_out(configs_dir: Path, intent: str) -> None:
    path = configs_dir / "intents.yaml"
    text = path.read_text("utf-8")
    # Drop the intent's block: its header line and every more-indented line after it.
    block = re.compile(rf"^  {intent}:\n(?:    .*\n|      .*\n)*", re.MULTILINE)
    assert block.search(text)
    path.write_text(block.sub("", text), "utf-8")


@then(parsers.parse('loading the configuration fails with one line naming "{a}", "{b}" and "{c}"'))
def load_fails(configs_dir: Path, a: str, b: str, c: str) -> None:
    with pytest.raises(EvoTrError) as caught:
        _load(configs_dir)
    message = str(caught.value)
    assert "\n" not in message
    for part in (a, b, c):
        assert part in message
