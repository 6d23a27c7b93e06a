"""Durable file writes: temp file + fsync + rename, so readers see the old or the new file."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; a crash leaves the previous content intact."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """UTF-8 text through :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def copy_synced(source: Path, target: Path) -> None:
    """Copy a file and flush it to disk before returning."""
    with source.open("rb") as reader, target.open("wb") as writer:
        shutil.copyfileobj(reader, writer)
        writer.flush()
        os.fsync(writer.fileno())


def write_synced(target: Path, data: bytes) -> None:
    """Write a new file and flush it to disk before returning."""
    with target.open("wb") as writer:
        writer.write(data)
        writer.flush()
        os.fsync(writer.fileno())


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable; skipped where directories cannot be synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_dir(staging: Path, target: Path) -> None:
    """Swap a fully written ``staging`` folder in for ``target``; an old one is moved aside, then deleted."""
    if target.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, trash / target.name)
        os.replace(staging, target)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staging, target)
    fsync_dir(target.parent)
