"""Use case: everything known about one adapter version (`evotr adapters show`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterVersion
from evotr.domain.errors import EvoTrError
from evotr.ports.adapter_store import AdapterStore


class UnknownAdapterVersionError(EvoTrError, LookupError):
    """A version name with no folder in the adapter store; the message lists the stored ones."""

    def __init__(self, version: AdapterVersion, stored: Sequence[AdapterVersion]) -> None:
        known = ", ".join(v.name for v in stored) or "none yet (train one with `evotr train`)"
        super().__init__(f"unknown adapter version {version}; stored versions: {known}")
        self.version = version


def stored_version(store: AdapterStore, version: AdapterVersion | str) -> AdapterVersion:
    """``version`` parsed and checked to exist in ``store``."""
    target = version if isinstance(version, AdapterVersion) else AdapterVersion.parse(version)
    stored = store.versions()
    if target not in stored:
        raise UnknownAdapterVersionError(target, stored)
    return target


@attrs.frozen(slots=True)
class AdapterDetails:
    """One version: its folder, manifest, mlx-lm training config, loss curve and problems."""

    version: AdapterVersion
    folder: Path
    active: bool
    manifest: AdapterManifest | None
    training_config: Mapping[str, object] | None
    loss_curve: Path | None
    problems: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """The JSON shape `evotr adapters show --json` prints."""
        manifest = self.manifest.to_json() if self.manifest is not None else None
        return {
            "version": self.version.name,
            "family": self.version.family.name,
            "active": self.active,
            "folder": str(self.folder),
            "manifest": manifest,
            "config": None if self.training_config is None else dict(self.training_config),
            "loss_curve": None if self.loss_curve is None else str(self.loss_curve),
            "problems": list(self.problems),
        }


class ShowAdapter:
    """Reads one stored version's documents; nothing is loaded into a model."""

    def __init__(self, store: AdapterStore) -> None:
        self._store = store

    def execute(self, version: AdapterVersion | str) -> AdapterDetails:
        """The version's details; UnknownAdapterVersionError if it is not stored."""
        target = stored_version(self._store, version)
        problems = tuple(self._store.problems(target))
        # A corrupt manifest is already one of the problems; show the rest rather than fail.
        try:
            manifest = self._store.manifest(target)
        except EvoTrError:
            manifest = None
        try:
            config = self._store.training_config(target)
        except EvoTrError:
            config = None
        return AdapterDetails(
            version=target,
            folder=self._store.path(target),
            active=self._store.load_registry().active(target.family) == target,
            manifest=manifest,
            training_config=config,
            loss_curve=self._store.loss_curve(target),
            problems=problems,
        )
