"""Steps for features/config_errors.feature: edit a copy of the shipped configs, load, read the error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from evotr.infrastructure.config.errors import ConfigError
from evotr.infrastructure.config.loader import load_settings

pytestmark = pytest.mark.bdd
scenarios("config_errors.feature")


@dataclass(frozen=True)
class Edit:
    """Which file a step changed and the 1-based line it changed."""

    file: Path
    line: int


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _edit_line(file: Path, header: str, prefix: str, new: str) -> Edit:
    """Replace the first line starting with ``prefix`` inside the block opened by ``header``."""
    lines = file.read_text("utf-8").splitlines(keepends=True)
    start = lines.index(header + "\n")
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if line.strip() and _indent(line) <= _indent(header):
            break  # left the block without finding the key
        if line.startswith(prefix):
            lines[index] = new + "\n"
            file.write_text("".join(lines), "utf-8")
            return Edit(file, index + 1)
    raise AssertionError(f"no line starting with {prefix!r} under {header!r} in {file}")


@given("a private copy of the shipped configuration", target_fixture="configs_dir")
def private_copy(shipped_configs: Path) -> Path:
    return shipped_configs


@when(parsers.parse('I map intent "{intent}" to family "{family}"'), target_fixture="edit")
def map_intent(configs_dir: Path, intent: str, family: str) -> Edit:
    return _edit_line(configs_dir / "intents.yaml", f"  {intent}:", "    family:", f"    family: {family}")


@when(
    parsers.parse('I misspell the key "{key}" of intent "{intent}" as "{typo}"'), target_fixture="edit"
)
def misspell(configs_dir: Path, key: str, intent: str, typo: str) -> Edit:
    file = configs_dir / "intents.yaml"
    value = next(
        line.split(":", 1)[1].strip()
        for line in file.read_text("utf-8").split(f"  {intent}:\n", 1)[1].splitlines()
        if line.startswith(f"    {key}:")
    )
    return _edit_line(file, f"  {intent}:", f"    {key}:", f"    {typo}: {value}")


@when(
    parsers.parse('I set "{key}" in section "{section}" of evotr.yaml to "{value}"'), target_fixture="edit"
)
def set_value(configs_dir: Path, key: str, section: str, value: str) -> Edit:
    return _edit_line(configs_dir / "evotr.yaml", f"{section}:", f"  {key}:", f"  {key}: {value}")


@when(
    parsers.parse('I rename family "{old}" to "{new}" everywhere in intents.yaml'), target_fixture="edit"
)
def rename_family(configs_dir: Path, old: str, new: str) -> Edit:
    file = configs_dir / "intents.yaml"
    text = file.read_text("utf-8")
    assert text.count(f"  {old}:\n") == 1
    file.write_text(text.replace(old, new), "utf-8")
    # The first thing wrong is the family's own definition under `families:`.
    return Edit(file, file.read_text("utf-8").splitlines().index(f"  {new}:") + 1)


@then("loading the configuration fails", target_fixture="error")
def loading_fails(configs_dir: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(configs_dir / "evotr.yaml", home=configs_dir / "home", env={})
    return caught.value


@then(
    parsers.parse('the error is one line naming the edited file, the edited line and key "{key}"')
)
def one_line(error: ConfigError, edit: Edit, key: str) -> None:
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{edit.file}:{edit.line}: {key}: "), message
    assert (error.file, error.line, error.key) == (edit.file, edit.line, key)


@then(parsers.parse('the error says "{text}"'))
def error_says(error: ConfigError, text: str) -> None:
    assert text in str(error)
