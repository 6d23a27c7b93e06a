"""Adapters on disk: ``<root>/<family>_v<N>/`` folders plus ``<root>/registry.json``.

Each version folder holds mlx-lm's own ``adapter_config.json`` and ``adapters.safetensors`` (so
``mlx_lm.load(model, adapter_path=folder)`` reads it unchanged) and EVO-TR's ``manifest.json``.
Folders appear complete or not at all (staged under a ``.tmp-*`` name, then renamed), and
registry.json is replaced atomically under an inter-process lock.

registry.json alone says which version is active, so a store whose registry.json is gone while
version folders remain refuses to work (RegistryMissingError) instead of serving the base model
or writing an empty registry over the versions' history; ``create_registry`` restores one.
Every failed write is one AdapterStoreWriteError naming the path (a read-only home, a full disk).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from evotr.domain.adapter_manifest import MANIFEST_FILE, REQUIRED_ADAPTER_FILES, AdapterManifest
from evotr.domain.adapters import AdapterRegistry, AdapterVersion
from evotr.domain.errors import AdapterNameError
from evotr.infrastructure.filesystem.adapter_checks import (
    check_addable,
    manifest_problems,
    required_file_problems,
)
from evotr.infrastructure.filesystem.adapter_documents import (
    LOSS_CURVE_FILE,
    REGISTRY_FILE,
    TRAINING_CONFIG_FILE,
    manifest_from_text,
    manifest_to_text,
    registry_from_text,
    registry_to_text,
    training_config_from_text,
)
from evotr.infrastructure.filesystem.atomic import atomic_write_bytes, copy_synced, fsync_dir, write_synced
from evotr.infrastructure.filesystem.errors import (
    REGISTRY_EXISTS,
    AdapterStoreError,
    AdapterStoreWriteError,
    RegistryMissingError,
)
from evotr.infrastructure.filesystem.stat_cache import StatCache, stat_key
from evotr.ports.adapter_store import AdapterStore

LOCK_FILE = ".lock"
STAGING_PREFIX = ".tmp-"


class FilesystemAdapterStore(AdapterStore):
    """The AdapterStore on a folder, normally ``<home>/adapters``; nothing is touched until used."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._registry: StatCache[AdapterRegistry] = StatCache()  # the last read (stat_cache.py)

    @property
    def root(self) -> Path:
        """The adapters folder."""
        return self._root

    @property
    def registry_file(self) -> Path:
        """``<root>/registry.json``."""
        return self._root / REGISTRY_FILE

    def initialize(self) -> None:
        """Create the folder and an empty registry.json if missing; an existing one is kept as is.

        Raises RegistryMissingError rather than write an empty registry where version folders
        exist without one.
        """
        if self.registry_file.is_file():
            # Nothing to create: take no lock, so every command still starts on a read-only home.
            return
        self._make_root()
        with self._lock():
            self._ensure_registry()

    def load_registry(self) -> AdapterRegistry:
        """The stored registry; AdapterStoreError if corrupt.

        Empty when registry.json is missing and no version exists yet; RegistryMissingError
        when it is missing but version folders exist (which one was active is unknown).
        """
        # No lock to read: writers replace registry.json by rename (atomic_write_bytes), so a
        # reader opens either the old or the new complete file, never a half-written one. Not
        # locking also lets `adapters list` and `adapters check` run on a read-only home.
        source = self.registry_file
        try:
            key = stat_key(source)  # before reading: a replacement in between is read again
            cached = self._registry.get(key)
            if cached is not None:
                return cached
            text = source.read_text("utf-8")
        except FileNotFoundError:
            found = self.versions()
            if found:
                raise RegistryMissingError(source, found) from None
            return AdapterRegistry()
        except UnicodeDecodeError as exc:
            raise AdapterStoreError(source, f"not UTF-8 text ({exc}); fix or remove the file") from exc
        except OSError as exc:
            raise AdapterStoreError(source, f"cannot be read: {exc.strerror or exc}") from exc
        registry = registry_from_text(text, source)
        self._registry.put(key, registry)
        return registry

    def save_registry(self, registry: AdapterRegistry) -> None:
        """Replace registry.json atomically (temp file, fsync, rename) under the store's lock."""
        self._make_root()
        with self._lock():
            self._write_registry(registry)

    def create_registry(self, registry: AdapterRegistry) -> None:
        """Write registry.json only where none exists (a rebuild); an existing one is never replaced."""
        self._make_root()
        with self._lock():
            if self.registry_file.exists():
                raise AdapterStoreError(self.registry_file, REGISTRY_EXISTS)
            self._write_registry(registry)

    def update_registry(self, change: Callable[[AdapterRegistry], AdapterRegistry]) -> AdapterRegistry:
        """Load, apply ``change`` and save while holding the lock; returns the saved registry.

        Use this instead of load + save when another process (a second CLI, a training run)
        may change the registry at the same time: no update is lost. A corrupt registry.json
        raises before ``change`` runs and stays untouched.
        """
        self._make_root()
        with self._lock():
            registry = change(self.load_registry())
            self._write_registry(registry)
        return registry

    def versions(self) -> Sequence[AdapterVersion]:
        """Version folders under root, sorted; staging folders and other names are ignored."""
        if not self._root.is_dir():
            return []
        found: list[AdapterVersion] = []
        for entry in self._root.iterdir():
            # A symlink could lead outside root; path() refuses those, so do not list them.
            if entry.is_symlink() or not entry.is_dir():
                continue
            try:
                found.append(AdapterVersion.parse(entry.name))
            except AdapterNameError:
                continue
        return sorted(found)

    def path(self, version: AdapterVersion) -> Path:
        """``root / version.name``; AdapterStoreError if it resolves outside root (e.g. a symlink)."""
        folder = self._root / version.name
        # Version names cannot hold '/' or '..', so this only trips on symlinks: defense in depth.
        root = self._root.resolve()
        resolved = folder.resolve()
        if resolved == root or not resolved.is_relative_to(root):
            raise AdapterStoreError(folder, f"resolves to {resolved}, outside {root}; refusing to use it")
        return folder

    def problems(self, version: AdapterVersion) -> list[str]:
        """What stops mlx-lm from loading ``version`` or EVO-TR from trusting it; empty = usable."""
        try:
            folder = self.path(version)
        except AdapterStoreError as exc:
            return [exc.message]
        if not folder.is_dir():
            return [f"folder {folder} is missing"]
        problems: list[str] = []
        for name in REQUIRED_ADAPTER_FILES:
            problems += _file_problems(folder / name)
        try:
            manifest = self.manifest(version)
        except AdapterStoreError as exc:
            problems.append(f"{MANIFEST_FILE}: {exc.message}")
        else:
            problems += manifest_problems(manifest, version)
        return problems

    def manifest(self, version: AdapterVersion) -> AdapterManifest | None:
        """The parsed manifest.json; None if missing, AdapterStoreError naming the file if corrupt."""
        source = self.path(version) / MANIFEST_FILE
        try:
            text = source.read_text("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise AdapterStoreError(source, f"cannot be read: {exc}") from exc
        return manifest_from_text(text, source)

    def training_config(self, version: AdapterVersion) -> Mapping[str, object] | None:
        """The version's adapter_config.json; None if missing, AdapterStoreError if not a JSON object."""
        source = self.path(version) / TRAINING_CONFIG_FILE
        try:
            text = source.read_text("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise AdapterStoreError(source, f"cannot be read: {exc}") from exc
        return training_config_from_text(text, source)

    def loss_curve(self, version: AdapterVersion) -> Path | None:
        """``<version folder>/loss.png`` if it is a file."""
        curve = self.path(version) / LOSS_CURVE_FILE
        return curve if curve.is_file() else None

    def add(self, version: AdapterVersion, source_dir: Path, manifest: AdapterManifest) -> Path:
        """Copy mlx-lm's two files (and ``loss.png`` if any) plus ``manifest`` into a new version folder.

        Checkpoints such as ``0000100_adapters.safetensors`` are left behind. The copies are
        checked before the folder appears; an existing version is never overwritten. The
        registry is not changed: register and promote through it separately.
        """
        folder = self.path(version)
        source_dir = Path(source_dir)
        check_addable(version, folder, source_dir, manifest)
        self._make_root()
        with self._lock():
            if folder.exists() or folder.is_symlink():
                raise AdapterStoreError(folder, f"{version} already exists; versions are never overwritten")
            # A first version in a store never initialised gets an empty registry beside it, so
            # the folder is never taken for one whose registry.json was lost.
            self._ensure_registry()
            with _writing(folder):
                staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{version.name}-", dir=self._root))
                try:
                    self._stage(staging, source_dir, manifest)
                    os.rename(staging, folder)
                except BaseException:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise
            fsync_dir(self._root)
        return folder

    def _stage(self, staging: Path, source_dir: Path, manifest: AdapterManifest) -> None:
        for name in REQUIRED_ADAPTER_FILES:
            copy_synced(source_dir / name, staging / name)
        # Check the copies, not the sources: they are what mlx-lm will read.
        problems = [p for name in REQUIRED_ADAPTER_FILES for p in _file_problems(staging / name)]
        if problems:
            raise AdapterStoreError(source_dir, "not a usable mlx-lm adapter: " + "; ".join(problems))
        # The trainer's loss curve travels with the version when there is one (`adapters show`).
        if (source_dir / LOSS_CURVE_FILE).is_file():
            copy_synced(source_dir / LOSS_CURVE_FILE, staging / LOSS_CURVE_FILE)
        write_synced(staging / MANIFEST_FILE, manifest_to_text(manifest).encode("utf-8"))
        fsync_dir(staging)

    def _ensure_registry(self) -> None:
        """Under the lock: write an empty registry if none exists and no version exists either."""
        if self.registry_file.exists():
            return
        found = self.versions()
        if found:
            raise RegistryMissingError(self.registry_file, found)
        self._write_registry(AdapterRegistry())

    def _write_registry(self, registry: AdapterRegistry) -> None:
        with _writing(self.registry_file):
            atomic_write_bytes(self.registry_file, registry_to_text(registry).encode("utf-8"))

    def _make_root(self) -> None:
        with _writing(self._root):
            self._root.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        # flock is per open file description, so this also serialises threads of one process;
        # the kernel drops it if the process dies, so a crash never leaves the store locked.
        # Only writers lock (see load_registry), so failing to open the lock file means the
        # store cannot be written: say so with the path instead of a PermissionError traceback.
        with _writing(self._root / LOCK_FILE):
            fd = os.open(self._root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Turn an OSError while writing ``path`` into one AdapterStoreWriteError naming it."""
    try:
        yield
    except OSError as exc:
        raise AdapterStoreWriteError(path, exc) from exc


def _file_problems(file: Path) -> list[str]:
    try:
        size = file.stat().st_size if file.is_file() else None
        return required_file_problems(file.name, size, lambda: file.open("rb"))
    except OSError as exc:
        return [f"{file.name} cannot be read: {exc.strerror or exc}"]
