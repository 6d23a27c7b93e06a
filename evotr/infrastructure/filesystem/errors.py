"""Errors of the filesystem adapter store; each names the file or folder that was wrong."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from pathlib import Path

from evotr.domain.errors import EvoTrError

REBUILD_COMMAND = "evotr adapters rebuild-registry"
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
REGISTRY_EXISTS = ("already exists, so nothing was rebuilt; it is never overwritten (move it aside first "
                   "to rebuild it)")


class AdapterStoreError(EvoTrError):
    """An adapter file, folder or registry.json is missing, corrupt or refused; ``path`` names it.

    A corrupt file is never rewritten: the message says what is wrong so the user can fix or
    remove it by hand.
    """

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class AdapterStoreWriteError(AdapterStoreError):
    """The store could not write ``path`` (a read-only home, a full disk); nothing was changed."""

    def __init__(self, path: Path, error: OSError) -> None:
        reason = error.strerror or str(error)
        if error.errno in _NOT_WRITABLE:
            hint = "make the home folder writable, or point --home or EVOTR_HOME at a writable one"
        else:
            hint = "nothing was changed; fix the cause and run the command again"
        # Worded "cannot write PATH: reason", as cp and mkdir say it, rather than "PATH: message".
        EvoTrError.__init__(self, f"cannot write {path}: {reason}; {hint}")
        self.path = path
        self.message = f"{reason}; {hint}"
        self.errno = error.errno


class RegistryMissingError(AdapterStoreError):
    """registry.json is gone while version folders remain: which version was active is unknown.

    Serving the base model or writing a fresh empty registry would silently drop every trained
    version's history, so the store refuses until the registry is rebuilt or restored.
    """

    def __init__(self, registry_file: Path, versions: Sequence[object]) -> None:
        names = ", ".join(str(v) for v in versions)
        super().__init__(
            registry_file,
            f"missing, but {registry_file.parent} holds adapter version(s) {names}; it records which "
            f"version is active, so nothing was served or changed. Run `{REBUILD_COMMAND}` (with the "
            "same --home) to rebuild it from the versions' manifests, or restore registry.json from a backup",
        )
        self.versions = tuple(versions)
