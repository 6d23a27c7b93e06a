"""Learned router examples in a dict: the in-memory LearnedRoutes."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from evotr.domain.intents import Intent
from evotr.domain.text import fold
from evotr.ports.learned_routes import LearnedRoutes


class InMemoryLearnedRoutes(LearnedRoutes):
    """Like the file: one label per message (compared folded), a repeat is not added."""

    def __init__(self) -> None:
        self._labels: dict[str, tuple[str, Intent]] = {}
        self._lock = threading.Lock()

    def add(self, text: str, intent: Intent) -> bool:
        """Label ``text``; False if that already is its label."""
        key = " ".join(fold(text).split())
        with self._lock:
            if self._labels.get(key, ("", None))[1] is intent:
                return False
            self._labels[key] = (text, intent)
        return True

    def examples(self) -> Sequence[tuple[str, Intent]]:
        """Each message's current label, first-learned order."""
        with self._lock:
            return list(self._labels.values())
