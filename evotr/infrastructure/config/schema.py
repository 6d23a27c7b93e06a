"""A small declarative schema checker for the config files (no extra dependency).

A schema is a tree of ``Section`` (fixed keys), ``MapOf`` (free keys, one value shape),
``ListOf`` and ``Scalar``. ``check`` walks a parsed document in file order, stops at the first
problem with a ConfigError naming its line and dotted key, and returns the data with defaults
filled in (ints given where a number is expected become floats).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import attrs

from evotr.infrastructure.config.yaml_source import YamlDocument, child_path, item_path


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()
"""Marks a scalar without a default: the key must be in the file."""

_TYPE_NAMES: dict[type, str] = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    dict: "a mapping",
    list: "a list",
    type(None): "null",
}


@attrs.frozen(slots=True)
class Scalar:
    """A leaf value of one of ``types``; ``choices`` restricts strings to a fixed set."""

    types: tuple[type, ...]
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()
    nullable: bool = False
    non_empty: bool = False

    @property
    def required(self) -> bool:
        """True when the file must set this key."""
        return self.default is REQUIRED


@attrs.frozen(slots=True)
class Section:
    """A mapping with a fixed set of keys; a missing optional section takes its fields' defaults.

    ``noun`` and ``list_valid`` shape the unknown-key message, e.g. for intent names.
    """

    fields: Mapping[str, Spec]
    required: bool = False
    noun: str = "key"
    list_valid: bool = False


@attrs.frozen(slots=True)
class MapOf:
    """A mapping whose keys are names chosen by the user, each with a value of shape ``value``."""

    value: Spec
    required: bool = True
    min_items: int = 1


@attrs.frozen(slots=True)
class ListOf:
    """A list whose items all have shape ``item``."""

    item: Spec
    required: bool = True
    min_items: int = 0


Spec: TypeAlias = Scalar | Section | MapOf | ListOf


def check(doc: YamlDocument, schema: Section) -> dict[str, Any]:
    """Validate ``doc.data`` against ``schema`` and return it with defaults filled in."""
    result: dict[str, Any] = _check(doc, schema, doc.data, "")
    return result


def default_of(spec: Spec) -> Any:
    """The value an absent optional key stands for."""
    if isinstance(spec, Scalar):
        return spec.default
    if isinstance(spec, Section):
        return {name: default_of(sub) for name, sub in spec.fields.items()}
    return {} if isinstance(spec, MapOf) else []


def _check(doc: YamlDocument, spec: Spec, value: Any, path: str) -> Any:
    if isinstance(spec, Scalar):
        return _check_scalar(doc, spec, value, path)
    if isinstance(spec, ListOf):
        items = _expect(doc, value, list, path)
        if len(items) < spec.min_items:
            raise doc.error(path, f"needs at least {spec.min_items} item(s)")
        return [_check(doc, spec.item, item, item_path(path, n)) for n, item in enumerate(items)]
    if value is None and isinstance(spec, Section):
        # A section whose keys are all commented out means "all defaults".
        value = {}
    mapping = _expect(doc, value, dict, path)
    if isinstance(spec, MapOf):
        if len(mapping) < spec.min_items:
            raise doc.error(path, f"needs at least {spec.min_items} entry(ies)")
        return {key: _check(doc, spec.value, sub, child_path(path, key)) for key, sub in mapping.items()}
    return _check_section(doc, spec, mapping, path)


def _check_section(doc: YamlDocument, spec: Section, mapping: dict[str, Any], path: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, sub in mapping.items():
        if key not in spec.fields:
            raise doc.error(child_path(path, key), _unknown(spec, key))
        result[key] = _check(doc, spec.fields[key], sub, child_path(path, key))
    for key, sub_spec in spec.fields.items():
        if key in result:
            continue
        if sub_spec.required:
            # The key is absent, so point at the mapping that should hold it.
            raise doc.error(child_path(path, key), f"missing required {spec.noun}", line_of=path)
        result[key] = default_of(sub_spec)
    return result


def _unknown(spec: Section, key: str) -> str:
    valid = list(spec.fields)
    message = f"unknown {spec.noun}"
    close = difflib.get_close_matches(key, valid, n=1)
    if spec.list_valid or not close:
        message += f" (valid: {', '.join(valid)})"
    if close:
        message += f"; did you mean {close[0]!r}?"
    return message


def _check_scalar(doc: YamlDocument, spec: Scalar, value: Any, path: str) -> Any:
    if value is None and spec.nullable:
        return None
    # bool is a subclass of int, but `true` is never a sensible count or number.
    ok = not isinstance(value, bool) or bool in spec.types
    ok = ok and (isinstance(value, spec.types) or (float in spec.types and isinstance(value, int)))
    if not ok:
        expected = [_TYPE_NAMES.get(t, t.__name__) for t in spec.types] + (["null"] if spec.nullable else [])
        raise doc.error(path, f"expected {' or '.join(expected)}, found {_describe(value)}")
    if float in spec.types and isinstance(value, int) and not isinstance(value, bool) \
            and int not in spec.types:
        value = float(value)
    if isinstance(value, str):
        if spec.non_empty and not value.strip():
            raise doc.error(path, "must not be empty")
        if spec.choices and value not in spec.choices:
            raise doc.error(path, f"{value!r} is not one of: {', '.join(spec.choices)}")
    return value


def _expect(doc: YamlDocument, value: Any, kind: type, path: str) -> Any:
    if not isinstance(value, kind):
        raise doc.error(path, f"expected {_TYPE_NAMES[kind]}, found {_describe(value)}")
    return value


def _describe(value: Any) -> str:
    name = _TYPE_NAMES.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)) or value is None:
        return name
    # Show booleans as YAML spells them, since that is what the user typed.
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    return f"{name} ({text if len(text) <= 40 else text[:37] + '...'})"
