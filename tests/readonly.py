"""Run the real `evotr` CLI where part of the home cannot be written, even when tests run as root.

Root ignores file modes, so on a root CI machine a chmod alone proves nothing. There the CLI
runs in a private mount namespace (``unshare -m``) in which every path given to
``make_read_only`` is bind-mounted read-only: writes fail with EROFS ("Read-only file system"),
exactly as on a read-only disk. As a normal user the chmod is enough (EACCES).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

EVOTR = str(Path(sys.executable).with_name("evotr"))
_READ_ONLY: list[Path] = []
# n, then n paths, then the command: bind each path over itself and remount it read-only.
_MOUNT_SCRIPT = (
    'n=$1; shift; i=0; while [ "$i" -lt "$n" ]; do '
    'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 97; '
    'shift; i=$((i+1)); done; exec "$@"'
)


@contextmanager
def shared_tmp() -> Iterator[Path]:
    """A scratch folder for a read-only home (cleaned up even when left read-only)."""
    folder = Path(tempfile.mkdtemp(prefix="evotr-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in list(_READ_ONLY):
            if path == folder or folder in path.parents:
                make_writable(path)
        shutil.rmtree(folder, ignore_errors=True)


def make_read_only(path: Path) -> None:
    """Make ``path`` (a folder and all below it, or one file) unwritable for the next CLI run."""
    for item in [path, *(path.rglob("*") if path.is_dir() else ())]:
        if item.is_symlink():
            continue
        mode = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        if item.is_dir():
            mode |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
        item.chmod(mode)
    _READ_ONLY.append(path.resolve())


def make_writable(path: Path) -> None:
    """Undo make_read_only."""
    for item in [path, *(path.rglob("*") if path.is_dir() else ())]:
        if not item.is_symlink():
            item.chmod(item.stat().st_mode | stat.S_IWUSR)
    resolved = path.resolve()
    if resolved in _READ_ONLY:
        _READ_ONLY.remove(resolved)


def _root_prefix() -> list[str]:
    if not _READ_ONLY:
        return []
    unshare = shutil.which("unshare")
    if unshare is None:  # pragma: no cover - util-linux is on every Debian machine
        pytest.skip("tests run as root need `unshare` (util-linux) to make a folder read-only")
    return [unshare, "-m", "sh", "-c", _MOUNT_SCRIPT, "sh", str(len(_READ_ONLY)), *map(str, _READ_ONLY)]


def run_cli_unprivileged(
    args: list[str], *, env: dict[str, str] | None = None, stdin: bytes | None = None, timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``evotr ARGS`` so that what make_read_only marked cannot be written (output as bytes)."""
    prefix = _root_prefix() if os.geteuid() == 0 else []
    result = subprocess.run([*prefix, EVOTR, *args], input=stdin, capture_output=True,
                            env={**os.environ, **(env or {})}, timeout=timeout, check=False)
    if prefix and result.returncode == 97:  # pragma: no cover - a sandbox without mount rights
        pytest.skip("cannot bind-mount a read-only folder here (unshare -m needs CAP_SYS_ADMIN)")
    return result
