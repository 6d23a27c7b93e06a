"""The adapter history in a list, for tests and in-memory homes."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from evotr.domain.adapter_history import HistoryEvent
from evotr.domain.adapters import AdapterFamily
from evotr.ports.adapter_history import AdapterHistory


class InMemoryAdapterHistory(AdapterHistory):
    """Keeps events in order of ``append``."""

    def __init__(self) -> None:
        self._events: list[HistoryEvent] = []
        self._lock = threading.Lock()

    def append(self, event: HistoryEvent) -> None:
        """Add ``event`` at the end."""
        with self._lock:
            self._events.append(event)

    def events(self, family: AdapterFamily | None = None) -> Sequence[HistoryEvent]:
        """Events oldest first, optionally of one family."""
        with self._lock:
            return [e for e in self._events if family is None or e.family == family]
