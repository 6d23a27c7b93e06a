"""Where adapter versions and the registry of active versions live."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterRegistry, AdapterVersion


@runtime_checkable
class AdapterStore(Protocol):
    """Adapter files per version plus one registry, written atomically."""

    def initialize(self) -> None:
        """Create the storage and an empty registry if missing (idempotent).

        Never writes an empty registry where versions are stored without one: raises an
        EvoTrError naming the registry instead (see ``load_registry``).
        """
        ...

    def load_registry(self) -> AdapterRegistry:
        """The registry as stored; empty if none yet and no version is stored.

        Versions stored with no registry (it was deleted) raise an EvoTrError naming it: which
        version was active is unknown, so serving the base model would be a silent downgrade.
        """
        ...

    def create_registry(self, registry: AdapterRegistry) -> None:
        """Store ``registry`` where none exists (a rebuild); raise an EvoTrError if one does."""
        ...

    def save_registry(self, registry: AdapterRegistry) -> None:
        """Replace the stored registry atomically."""
        ...

    def update_registry(self, change: Callable[[AdapterRegistry], AdapterRegistry]) -> AdapterRegistry:
        """Load, apply ``change`` and save under a lock, so concurrent updates are never lost."""
        ...

    def versions(self) -> Sequence[AdapterVersion]:
        """Every version whose folder exists, sorted."""
        ...

    def path(self, version: AdapterVersion) -> Path:
        """The folder mlx-lm loads for ``version`` (it may not exist)."""
        ...

    def problems(self, version: AdapterVersion) -> list[str]:
        """What is missing or corrupt in the version's folder; empty when usable."""
        ...

    def manifest(self, version: AdapterVersion) -> AdapterManifest | None:
        """The version's manifest, or None if it has none."""
        ...

    def add(self, version: AdapterVersion, source_dir: Path, manifest: AdapterManifest) -> Path:
        """Copy mlx-lm adapter files from ``source_dir`` in as ``version``; returns its folder."""
        ...

    def training_config(self, version: AdapterVersion) -> Mapping[str, object] | None:
        """mlx-lm's ``adapter_config.json`` of ``version`` (its whole training configuration).

        None if the version or the file is missing; an EvoTrError naming the file if it is not
        a JSON object.
        """
        ...

    def loss_curve(self, version: AdapterVersion) -> Path | None:
        """The ``loss.png`` plotted beside the version's manifest, or None if there is none."""
        ...
