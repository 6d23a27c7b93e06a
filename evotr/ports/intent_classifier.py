"""Turns a message into a probability for each intent (the routing policy decides)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from evotr.domain.intents import Intent


@runtime_checkable
class IntentClassifier(Protocol):
    """A classifier trained from example messages per intent."""

    def fit(self, examples: Mapping[Intent, Sequence[str]]) -> None:
        """Train (or retrain) from examples."""
        ...

    def probabilities(self, text: str) -> Mapping[Intent, float]:
        """A distribution over all eight intents that sums to 1."""
        ...
