"""Where adapter versions and the registry of active versions live."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterRegistry, AdapterVersion


@runtime_checkable
class AdapterStore(Protocol):
    """Adapter files per version plus one registry, written atomically."""

    def initialize(self) -> None:
        """Create the storage if missing (idempotent)."""
        ...

    def load_registry(self) -> AdapterRegistry:
        """The registry as stored (empty if none yet)."""
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
