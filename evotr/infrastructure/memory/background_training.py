"""A BackgroundTraining that starts nothing: records the families it was asked to train."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

from evotr.domain.errors import EvoTrError
from evotr.ports.background_training import BackgroundRun, BackgroundTraining


class InMemoryBackgroundTraining(BackgroundTraining):
    """``started`` lists every run; ``finish()`` ends the current one."""

    def __init__(self) -> None:
        self.started: list[BackgroundRun] = []
        self._running: BackgroundRun | None = None

    def start(self, family: str) -> BackgroundRun | None:
        """Record a run; None while one is running."""
        if self._running is not None:
            return None
        self._running = BackgroundRun(family, datetime.now(UTC))
        self.started.append(self._running)
        return self._running

    def current(self) -> BackgroundRun | None:
        """The recorded run, until ``finish``."""
        return self._running

    def finish(self) -> None:
        """The run ended."""
        self._running = None

    @contextlib.contextmanager
    def hold(self, family: str) -> Iterator[None]:
        """Refuse while a run is recorded as running."""
        if self._running is not None:
            raise EvoTrError(f"another `evotr feedback train` ({self._running.family}) is running")
        yield
