"""Messages the user labelled with their intent (misroute corrections), which the router learns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from evotr.domain.intents import Intent


@runtime_checkable
class LearnedRoutes(Protocol):
    """An append-only set of (message, intent) labels; a later label for a message replaces it."""

    def add(self, text: str, intent: Intent) -> bool:
        """Record that ``text`` belongs to ``intent``; False (nothing written) if already known."""
        ...

    def examples(self) -> Sequence[tuple[str, Intent]]:
        """Every message's current label, in the order they were first learned."""
        ...
