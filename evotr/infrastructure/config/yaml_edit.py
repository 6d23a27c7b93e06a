"""Set a few scalar keys of a YAML file by editing its text, so the user's comments, order and
other keys stay byte for byte as they were; the file is replaced atomically.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from evotr.infrastructure.config.errors import ConfigError
from evotr.infrastructure.config.yaml_source import YamlDocument, load_yaml, parse_yaml
from evotr.infrastructure.filesystem.atomic import atomic_write_text

Scalar = str | int | float | bool | None
_INDENT = "  "


def set_scalars(file: Path, values: Mapping[str, Scalar]) -> None:
    """Give each dotted key (``section.key`` or ``key``) in ``values`` its value, in place.

    A key already in the file keeps its line, indentation and trailing comment; a missing key is
    added at the top of its section (the section is appended if missing). A value written across
    several lines or in flow style (``model: {path: x}``) cannot be edited in place: ConfigError.
    """
    doc = load_yaml(file)
    lines = file.read_text("utf-8").splitlines(keepends=True)
    for key, value in values.items():
        _set(doc, lines, key, _format(value))
        doc = _reparse(file, lines)  # line numbers move when a line is inserted
    atomic_write_text(file, "".join(lines))


def _set(doc: YamlDocument, lines: list[str], key: str, text: str) -> None:
    section, _, name = key.rpartition(".")
    line = doc.line(key)
    if line is not None:
        pattern = re.compile(rf"^(\s*{re.escape(name)}:[ \t]*)([^#\n]*?)([ \t]+#.*)?(\r?\n)?$")
        match = pattern.match(lines[line - 1])
        if match is None or not match.group(2) or not _is_scalar(match.group(2)):
            raise ConfigError(doc.file, line, key, f"cannot rewrite this value in place; set it to {text}")
        lines[line - 1] = f"{match.group(1)}{text}{match.group(3) or ''}{match.group(4) or chr(10)}"
        return
    if not section:
        lines.append(_ensure_newline(lines) + f"{name}: {text}\n")
        return
    header = doc.line(section)
    if header is None:
        lines.append(_ensure_newline(lines) + f"\n{section}:\n{_INDENT}{name}: {text}\n")
        return
    if not re.match(rf"^{re.escape(section)}:[ \t]*(#.*)?\r?\n?$", lines[header - 1]):
        raise ConfigError(doc.file, header, section, f"cannot add {name} here; add `{name}: {text}` by hand")
    lines.insert(header, f"{_INDENT}{name}: {text}\n")


def _is_scalar(text: str) -> bool:
    # Block scalars (| or >) and flow collections span or nest values: not editable in place.
    return not text.strip().startswith(("|", ">", "{", "[", "&", "*", "!"))


def _ensure_newline(lines: list[str]) -> str:
    return "\n" if lines and not lines[-1].endswith("\n") else ""


def _reparse(file: Path, lines: list[str]) -> YamlDocument:
    # The edited text goes through the same checks, so a bad edit is caught before writing.
    return parse_yaml(file, "".join(lines))


def _format(value: Scalar) -> str:
    """The YAML spelling of ``value``: plain when that reads back as the same value, else quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    plain = value
    if plain and yaml.safe_load(plain) == value and "#" not in plain and ": " not in plain:
        return plain
    return "'" + value.replace("'", "''") + "'"
