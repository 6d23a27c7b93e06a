"""Run the real `evotr` CLI where the home cannot be written, even when the tests run as root.

Root ignores file modes, so on a root CI machine a chmod alone proves nothing: the CLI is run
as the unprivileged ``nobody`` user (``setpriv``) over files that root owns. As a normal user a
chmod is enough and the CLI runs as that user.
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

NOBODY = 65534
EVOTR = str(Path(sys.executable).with_name("evotr"))


def drop_privileges_prefix() -> list[str]:
    """The command prefix that makes the CLI an unprivileged user (empty when we are not root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:  # pragma: no cover - util-linux is on every Debian machine
        raise RuntimeError("tests run as root need setpriv (util-linux) to drop privileges")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@contextmanager
def shared_tmp() -> Iterator[Path]:
    """A folder every user can traverse (pytest's tmp_path is 0700 and root's)."""
    folder = Path(tempfile.mkdtemp(prefix="evotr-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        make_writable(folder)
        shutil.rmtree(folder, ignore_errors=True)


def make_read_only(path: Path) -> None:
    """Strip every write bit under ``path`` (folders stay traversable, files readable)."""
    for item in [path, *path.rglob("*")]:
        if item.is_symlink():
            continue
        mode = item.stat().st_mode
        readable = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        if item.is_dir():
            readable |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
        item.chmod(readable)


def make_writable(path: Path) -> None:
    """Undo make_read_only so the folder can be deleted."""
    for item in [path, *path.rglob("*")]:
        if not item.is_symlink():
            item.chmod(item.stat().st_mode | stat.S_IWUSR)


def run_cli_unprivileged(args: list[str], *, env: dict[str, str] | None = None,
                         stdin: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """Run ``evotr ARGS`` as a user who cannot write what root made read-only (output as bytes)."""
    environ = {**os.environ, **(env or {}), "HOME": "/tmp"}
    return subprocess.run([*drop_privileges_prefix(), EVOTR, *args], input=stdin, capture_output=True,
                          env=environ, timeout=timeout, check=False)
