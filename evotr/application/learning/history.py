"""Use case: read the adapter history (`evotr adapters history [FAMILY]`)."""

from __future__ import annotations

from collections.abc import Sequence

from evotr.application.adapters import require_family
from evotr.domain.adapter_history import HistoryEvent
from evotr.domain.adapters import AdapterFamily
from evotr.domain.intent_mapping import IntentMapping
from evotr.ports.adapter_history import AdapterHistory


class ReadAdapterHistory:
    """Every event, or one family's (an unknown family is refused with the known ones)."""

    def __init__(self, history: AdapterHistory, mapping: IntentMapping) -> None:
        self._history = history
        self._mapping = mapping

    def execute(self, family: str | None = None) -> Sequence[HistoryEvent]:
        """Events oldest first."""
        if family is None:
            return self._history.events()
        target = AdapterFamily(family)
        require_family(self._mapping, target)
        return self._history.events(target)
