"""A small naive-Bayes classifier over folded words: the in-memory IntentClassifier."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from evotr.domain.intents import ALL_INTENTS, Intent
from evotr.domain.text import words
from evotr.ports.intent_classifier import IntentClassifier


class InMemoryIntentClassifier(IntentClassifier):
    """Multinomial naive Bayes with Laplace smoothing; uniform until fitted."""

    def __init__(self, smoothing: float = 1.0) -> None:
        self._smoothing = smoothing
        self._counts: dict[Intent, Counter[str]] = {}
        self._totals: dict[Intent, int] = {}
        self._priors: dict[Intent, float] = {}
        self._vocabulary: set[str] = set()

    def fit(self, examples: Mapping[Intent, Sequence[str]]) -> None:
        """Count words per intent; intents without examples keep a tiny prior."""
        self._counts = {i: Counter(w for t in examples.get(i, ()) for w in words(t)) for i in ALL_INTENTS}
        self._totals = {i: sum(c.values()) for i, c in self._counts.items()}
        self._vocabulary = {w for c in self._counts.values() for w in c}
        n = sum(len(examples.get(i, ())) for i in ALL_INTENTS) or 1
        self._priors = {i: (len(examples.get(i, ())) + 1) / (n + len(ALL_INTENTS)) for i in ALL_INTENTS}

    def probabilities(self, text: str) -> Mapping[Intent, float]:
        """Posterior over the eight intents (softmax of log-likelihoods)."""
        if not self._vocabulary:
            return {i: 1.0 / len(ALL_INTENTS) for i in ALL_INTENTS}
        tokens = [w for w in words(text) if w in self._vocabulary]
        v = len(self._vocabulary)
        scores = {}
        for intent in ALL_INTENTS:
            denominator = self._totals[intent] + self._smoothing * v
            scores[intent] = math.log(self._priors[intent]) + sum(
                math.log((self._counts[intent][w] + self._smoothing) / denominator) for w in tokens
            )
        top = max(scores.values())
        exp = {i: math.exp(s - top) for i, s in scores.items()}
        total = sum(exp.values())
        return {i: e / total for i, e in exp.items()}
