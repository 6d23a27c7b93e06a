"""registry.json and manifest.json: strict parsing into domain objects, and writing them back.

Shared by the filesystem and the in-memory adapter store so both parse alike. Nothing here
touches the disk: callers hand in text and the path to name in errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterFamily, AdapterRegistry, AdapterVersion, FamilyState
from evotr.domain.errors import EvoTrError
from evotr.infrastructure.filesystem.errors import AdapterStoreError

REGISTRY_FILE = "registry.json"
REGISTRY_FORMAT = 1


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # json.loads would silently keep the last one; a hand edit gone wrong should show.
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _load_object(text: str, source: Path) -> dict[str, Any]:
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:
        raise AdapterStoreError(source, f"not valid JSON ({exc}); fix or remove the file") from exc
    if not isinstance(document, dict):
        raise AdapterStoreError(source, f"must hold a JSON object, found {type(document).__name__}")
    return document


# --- registry.json -------------------------------------------------------------------------


def registry_to_json(registry: AdapterRegistry) -> dict[str, object]:
    """The registry.json document (format 1): names only, families and versions sorted."""
    families: dict[str, object] = {}
    for name, state in registry.families.items():
        def named(number: int, family: AdapterFamily = state.family) -> str:
            return AdapterVersion(family, number).name

        families[name] = {
            "versions": [named(n) for n in state.versions],
            "active": None if state.active is None else named(state.active),
            "history": [named(n) for n in state.history],
        }
    return {"format": REGISTRY_FORMAT, "families": families}


def registry_to_text(registry: AdapterRegistry) -> str:
    """registry.json's text: indented, sorted, one trailing newline."""
    return json.dumps(registry_to_json(registry), indent=2, sort_keys=True) + "\n"


def registry_from_text(text: str, source: Path) -> AdapterRegistry:
    """Parse registry.json strictly; anything unexpected raises AdapterStoreError naming ``source``."""
    document = _load_object(text, source)
    fmt = document.get("format")
    if isinstance(fmt, bool) or not isinstance(fmt, int):
        raise AdapterStoreError(source, f"'format' must be a whole number, found {fmt!r}")
    if fmt > REGISTRY_FORMAT:
        raise AdapterStoreError(source, f"format {fmt} is newer than this EVO-TR knows "
                                        f"(format {REGISTRY_FORMAT}); upgrade evotr")
    if fmt != REGISTRY_FORMAT:
        raise AdapterStoreError(source, f"unknown format {fmt}")
    _only_keys(document, {"format", "families"}, "the top level", source)
    families = document.get("families", {})
    if not isinstance(families, dict):
        raise AdapterStoreError(source, "'families' must be an object")
    states: dict[str, FamilyState] = {}
    for key, entry in families.items():
        where = f"families[{key!r}]"
        try:
            states[key] = _family_state(key, entry, where, source)
        except AdapterStoreError:
            raise
        except EvoTrError as exc:
            # AdapterNameError for path-like names, RegistryRuleError for inconsistent states.
            raise AdapterStoreError(source, f"{where}: {exc}") from exc
    return AdapterRegistry(states)


def _family_state(key: str, entry: object, where: str, source: Path) -> FamilyState:
    family = AdapterFamily(key)
    if not isinstance(entry, dict):
        raise AdapterStoreError(source, f"{where} must be an object")
    fields: dict[str, Any] = entry
    _only_keys(fields, {"versions", "active", "history"}, where, source)

    def number(name: object, field: str) -> int:
        if not isinstance(name, str):
            raise AdapterStoreError(source, f"{where}.{field}: {name!r} is not a version name")
        version = AdapterVersion.parse(name)
        if version.family != family:
            raise AdapterStoreError(source, f"{where}.{field}: {name!r} belongs to family "
                                            f"{version.family}, not {family}")
        return version.number

    def numbers(field: str) -> tuple[int, ...]:
        names = fields.get(field, [])
        if not isinstance(names, list):
            raise AdapterStoreError(source, f"{where}.{field} must be a list of version names")
        return tuple(number(name, field) for name in names)

    active = fields.get("active")
    versions = numbers("versions")
    if len(set(versions)) != len(versions):
        raise AdapterStoreError(source, f"{where}.versions lists a version twice")
    return FamilyState(
        family,
        # Hand edits may reorder versions; the order carries no meaning, so accept any.
        versions=tuple(sorted(versions)),
        active=None if active is None else number(active, "active"),
        history=numbers("history"),
    )


def _only_keys(document: Mapping[str, object], allowed: set[str], where: str, source: Path) -> None:
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise AdapterStoreError(source, f"{where} has unknown key(s) {', '.join(map(repr, unknown))}")


# --- manifest.json -------------------------------------------------------------------------


def manifest_to_text(manifest: AdapterManifest) -> str:
    """manifest.json's text."""
    return json.dumps(manifest.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def manifest_from_text(text: str, source: Path) -> AdapterManifest:
    """Parse manifest.json; a missing or wrong field raises AdapterStoreError naming ``source``."""
    document = _load_object(text, source)
    try:
        return _manifest(document, source)
    except AdapterStoreError:
        raise
    except EvoTrError as exc:
        raise AdapterStoreError(source, str(exc)) from exc


def _manifest(document: dict[str, Any], source: Path) -> AdapterManifest:
    def text(key: str, default: str | None = None) -> str:
        value = document.get(key, default)
        if not isinstance(value, str):
            raise AdapterStoreError(source, f"'{key}' must be text, found {value!r}")
        return value

    version = AdapterVersion.parse(text("version"))
    family = document.get("family", version.family.name)
    if family != version.family.name:
        raise AdapterStoreError(source, f"'family' is {family!r} but 'version' is {version}")
    metrics = document.get("metrics", {})
    if not isinstance(metrics, dict) or not all(
        value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
        for value in metrics.values()
    ):
        raise AdapterStoreError(source, "'metrics' must map names to numbers or null")
    origin = document.get("origin", {})
    if not isinstance(origin, dict) or not all(isinstance(v, str) for v in origin.values()):
        raise AdapterStoreError(source, "'origin' must map names to text")
    training = document.get("training", {})
    if not isinstance(training, dict):
        raise AdapterStoreError(source, "'training' must be a JSON object")
    try:
        created_at = datetime.fromisoformat(text("created_at"))
    except ValueError as exc:
        raise AdapterStoreError(source, f"'created_at' is not an ISO 8601 time: {exc}") from exc
    return AdapterManifest(
        version=version,
        base_model=text("base_model"),
        dataset=text("dataset", ""),
        metrics={k: None if v is None else float(v) for k, v in metrics.items()},
        created_at=created_at,
        origin=origin,
        training=training,
    )


# --- adapter_config.json (mlx-lm's) and loss.png ----------------------------------------------

TRAINING_CONFIG_FILE = "adapter_config.json"  # written by mlx-lm: the whole training configuration
LOSS_CURVE_FILE = "loss.png"  # the loss curve `evotr train` plots beside manifest.json


def training_config_from_text(text: str, source: Path) -> dict[str, Any]:
    """mlx-lm's adapter_config.json as a dict; AdapterStoreError naming ``source`` if it is not one."""
    return _load_object(text, source)
