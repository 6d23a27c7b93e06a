"""Runs `feedback train` for a family in the background, one run at a time."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs


@attrs.frozen(slots=True)
class BackgroundRun:
    """A background training run: its family, when it started, its process id and log file."""

    family: str
    started_at: datetime
    pid: int | None = None
    log: str | None = None


@runtime_checkable
class BackgroundTraining(Protocol):
    """Starts detached runs; a lock lets only one run at a time, across processes."""

    def start(self, family: str) -> BackgroundRun | None:
        """Start a run for ``family`` and return it; None when one is already running."""
        ...

    def current(self) -> BackgroundRun | None:
        """The run in progress, or None."""
        ...

    def hold(self, family: str) -> AbstractContextManager[None]:
        """Hold the lock while this process trains ``family`` (a run started by ``start`` holds it already).

        Raises an EvoTrError naming the run in progress when another one holds it.
        """
        ...
