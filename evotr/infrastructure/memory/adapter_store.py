"""An AdapterStore in dicts: the filesystem store's behaviour without touching the disk.

The registry is kept as registry.json text and files as bytes, so parsing and checks are the
filesystem store's own (``adapter_documents``, ``adapter_checks``) and both pass the same
contract tests.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from evotr.domain.adapter_manifest import REQUIRED_ADAPTER_FILES, AdapterManifest
from evotr.domain.adapters import AdapterRegistry, AdapterVersion
from evotr.infrastructure.filesystem.adapter_checks import (
    check_addable,
    manifest_problems,
    required_file_problems,
)
from evotr.infrastructure.filesystem.adapter_documents import (
    REGISTRY_FILE,
    TRAINING_CONFIG_FILE,
    registry_from_text,
    registry_to_text,
    training_config_from_text,
)
from evotr.infrastructure.filesystem.errors import REGISTRY_EXISTS, AdapterStoreError, RegistryMissingError
from evotr.ports.adapter_store import AdapterStore

DEFAULT_ROOT = Path("/memory/adapters")


class InMemoryAdapterStore(AdapterStore):
    """Versions as stored file bytes plus manifests; ``path()`` gives virtual paths under ``root``."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = DEFAULT_ROOT if root is None else Path(root)
        self._registry_text: str | None = None
        self._files: dict[AdapterVersion, dict[str, bytes]] = {}
        self._manifests: dict[AdapterVersion, AdapterManifest] = {}
        self._lock = threading.RLock()

    @property
    def root(self) -> Path:
        """The virtual adapters folder."""
        return self._root

    def initialize(self) -> None:
        """Store an empty registry if none yet (idempotent), like the filesystem store."""
        with self._lock:
            self._ensure_registry()

    def load_registry(self) -> AdapterRegistry:
        """The stored registry; empty if none and no version; RegistryMissingError if versions exist."""
        with self._lock:
            text = self._registry_text
            if text is None:
                if self._files:
                    raise RegistryMissingError(self._root / REGISTRY_FILE, sorted(self._files))
                return AdapterRegistry()
        return registry_from_text(text, self._root / REGISTRY_FILE)

    def create_registry(self, registry: AdapterRegistry) -> None:
        """Store ``registry`` only where none exists; an existing one is never replaced."""
        with self._lock:
            if self._registry_text is not None:
                raise AdapterStoreError(self._root / REGISTRY_FILE, REGISTRY_EXISTS)
            self._registry_text = registry_to_text(registry)

    def delete_registry(self) -> None:
        """Forget the registry, as if registry.json were deleted (for tests of that failure)."""
        with self._lock:
            self._registry_text = None

    def save_registry(self, registry: AdapterRegistry) -> None:
        """Replace the stored registry (kept as registry.json text, as on disk)."""
        with self._lock:
            self._registry_text = registry_to_text(registry)

    def update_registry(self, change: Callable[[AdapterRegistry], AdapterRegistry]) -> AdapterRegistry:
        """Load, apply ``change`` and save as one step; returns the saved registry."""
        with self._lock:
            registry = change(self.load_registry())
            self.save_registry(registry)
        return registry

    def versions(self) -> Sequence[AdapterVersion]:
        """Every stored version, sorted."""
        with self._lock:
            return sorted(self._files)

    def path(self, version: AdapterVersion) -> Path:
        """The virtual folder ``root / version.name`` (nothing exists there on disk)."""
        return self._root / version.name

    def problems(self, version: AdapterVersion) -> list[str]:
        """``["not stored"]`` for unknown versions, else the same file checks as on disk."""
        with self._lock:
            files = self._files.get(version)
            manifest = self._manifests.get(version)
        if files is None:
            return ["not stored"]
        problems = [p for name in REQUIRED_ADAPTER_FILES for p in _bytes_problems(name, files.get(name))]
        return problems + manifest_problems(manifest, version)

    def manifest(self, version: AdapterVersion) -> AdapterManifest | None:
        """The manifest stored with ``version``, or None."""
        with self._lock:
            return self._manifests.get(version)

    def training_config(self, version: AdapterVersion) -> Mapping[str, object] | None:
        """The stored adapter_config.json parsed as on disk; None for an unknown version."""
        with self._lock:
            data = self._files.get(version, {}).get(TRAINING_CONFIG_FILE)
        if data is None:
            return None
        source = self.path(version) / TRAINING_CONFIG_FILE
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AdapterStoreError(source, f"cannot be read: {exc}") from exc
        return training_config_from_text(text, source)

    def loss_curve(self, version: AdapterVersion) -> Path | None:
        """Always None: only mlx-lm's two files and the manifest are kept in memory."""
        return None

    def add(self, version: AdapterVersion, source_dir: Path, manifest: AdapterManifest) -> Path:
        """Read mlx-lm's two files from ``source_dir`` and keep their bytes as ``version``."""
        folder = self.path(version)
        source_dir = Path(source_dir)
        check_addable(version, folder, source_dir, manifest)
        files = {name: (source_dir / name).read_bytes() for name in REQUIRED_ADAPTER_FILES}
        problems = [p for name, data in files.items() for p in _bytes_problems(name, data)]
        if problems:
            raise AdapterStoreError(source_dir, "not a usable mlx-lm adapter: " + "; ".join(problems))
        with self._lock:
            if version in self._files:
                raise AdapterStoreError(folder, f"{version} already exists; versions are never overwritten")
            self._ensure_registry()
            self._files[version] = files
            self._manifests[version] = manifest
        return folder

    def _ensure_registry(self) -> None:
        # Under the lock, as in the filesystem store: never an empty registry over versions.
        if self._registry_text is None:
            if self._files:
                raise RegistryMissingError(self._root / REGISTRY_FILE, sorted(self._files))
            self._registry_text = registry_to_text(AdapterRegistry())


def _bytes_problems(name: str, data: bytes | None) -> list[str]:
    size = None if data is None else len(data)
    return required_file_problems(name, size, lambda: io.BytesIO(data or b""))
