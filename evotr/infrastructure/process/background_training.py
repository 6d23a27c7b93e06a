"""`feedback train` in a detached background process, one at a time, guarded by an ``flock``.

The launcher takes ``<home>/adapters/.auto_train.lock`` (exclusive, non-blocking) and hands the
locked file descriptor to the child (``pass_fds``): an flock belongs to the open file
description, so the child holds the lock until it exits, however it exits, and a crash never
leaves it stuck. The lock file's text says who holds it (family, start time, pid) for
``feedback stats`` and ``/stats``. The child is told through ``EVOTR_TRAIN_LOCK_HELD`` that it
already holds the lock; a `feedback train` typed by hand takes it itself and is refused while
a background run is going.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from evotr.domain.errors import EvoTrError
from evotr.ports.background_training import BackgroundRun, BackgroundTraining

LOCK_FILE = ".auto_train.lock"
LOG_FILE = "auto_train.log"
HELD_ENV = "EVOTR_TRAIN_LOCK_HELD"


class TrainingBusyError(EvoTrError):
    """Another `feedback train` run holds the lock."""


def _describe(run: BackgroundRun | None) -> str:
    if run is None:
        return "another `evotr feedback train` is running"
    pid = f", pid {run.pid}" if run.pid else ""
    return (f"another `evotr feedback train` ({run.family}) is running since "
            f"{run.started_at.isoformat(timespec='seconds')}{pid}")


class DetachedFeedbackTraining(BackgroundTraining):
    """Starts ``python -m evotr --home H [--config C] feedback train --family F`` detached."""

    def __init__(self, home: Path, config_file: Path | None = None, *, python: str | None = None,
                 environ: dict[str, str] | None = None) -> None:
        self._home = Path(home)
        self._config = config_file
        self._python = python or sys.executable
        self._environ = environ
        self._children: list[subprocess.Popen[bytes]] = []

    @property
    def lock_file(self) -> Path:
        """``<home>/adapters/.auto_train.lock``."""
        return self._home / "adapters" / LOCK_FILE

    @property
    def log_file(self) -> Path:
        """``<home>/logs/auto_train.log`` (appended to by every run)."""
        return self._home / "logs" / LOG_FILE

    def command(self, family: str) -> list[str]:
        """The command line of a run for ``family``."""
        config = ["--config", str(self._config.resolve())] if self._config is not None else []
        return [self._python, "-m", "evotr", "--home", str(self._home.resolve()), *config,
                "feedback", "train", "--family", family]

    def start(self, family: str) -> BackgroundRun | None:
        """Start a run unless one holds the lock; returns it, or None when one is running."""
        self._reap()
        fd = self._open_lock()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            started = datetime.now(UTC)
            env = dict(os.environ if self._environ is None else self._environ)
            env[HELD_ENV] = "1"
            with self.log_file.open("ab") as log:
                log.write(f"\n=== {started.isoformat(timespec='seconds')} feedback train --family "
                          f"{family} ===\n".encode())
                log.flush()
                child = subprocess.Popen(  # our own interpreter and module
                    self.command(family), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True, pass_fds=(fd,), env=env, cwd=str(self._home.resolve()))
            self._children.append(child)
            run = BackgroundRun(family, started, child.pid, str(self.log_file))
            _write_owner(fd, run)
            return run
        finally:
            os.close(fd)  # the child's copy of the descriptor keeps the lock

    def current(self) -> BackgroundRun | None:
        """The run holding the lock, from the lock file's text; None when the lock is free."""
        self._reap()
        if not self.lock_file.exists():
            return None
        fd = self._open_lock()
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_owner(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def hold(self, family: str) -> Iterator[None]:
        """Hold the lock while this process trains; a background child already holds it."""
        if os.environ.get(HELD_ENV) == "1":
            yield
            return
        fd = self._open_lock()
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TrainingBusyError(_describe(_read_owner(fd)) + "; wait for it to finish "
                                        f"(its log: {self.log_file})") from None
            _write_owner(fd, BackgroundRun(family, datetime.now(UTC), os.getpid(), None))
            yield
        finally:
            os.close(fd)

    def _open_lock(self) -> int:
        try:
            self.lock_file.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise EvoTrError(f"cannot open {self.lock_file}: {exc.strerror or exc}") from exc

    def _reap(self) -> None:
        """Collect finished children (no zombies in a long chat session)."""
        self._children = [c for c in self._children if c.poll() is None]


def _write_owner(fd: int, run: BackgroundRun) -> None:
    text = json.dumps({"family": run.family, "started_at": run.started_at.isoformat(), "pid": run.pid,
                       "log": run.log})
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode("utf-8"), 0)


def _read_owner(fd: int) -> BackgroundRun | None:
    try:
        document = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return BackgroundRun(str(document["family"]), datetime.fromisoformat(document["started_at"]),
                             document.get("pid"), document.get("log"))
    except (ValueError, KeyError, TypeError, OSError):
        return BackgroundRun("?", datetime.now(UTC))  # held, but its text is not written yet
