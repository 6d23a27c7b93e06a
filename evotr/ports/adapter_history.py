"""The log of every promotion decision, promotion and rollback (``<home>/adapters/history.jsonl``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from evotr.domain.adapter_history import HistoryEvent
from evotr.domain.adapters import AdapterFamily


@runtime_checkable
class AdapterHistory(Protocol):
    """Append-only; an appended event is on disk (fsync) before ``append`` returns."""

    def append(self, event: HistoryEvent) -> None:
        """Add one event at the end, atomically with respect to other writers."""
        ...

    def events(self, family: AdapterFamily | None = None) -> Sequence[HistoryEvent]:
        """Events oldest first, optionally of one family; a malformed line is an EvoTrError naming it."""
        ...
