"""Use case: route a message to an intent with the configured threshold and fallback."""

from __future__ import annotations

from evotr.domain.intents import IntentPrediction, RoutingPolicy
from evotr.ports.intent_classifier import IntentClassifier


class RouteMessage:
    """Classifier probabilities → the routing policy's decision (never the raw top guess)."""

    def __init__(self, classifier: IntentClassifier, policy: RoutingPolicy) -> None:
        self._classifier = classifier
        self._policy = policy

    def execute(self, text: str) -> IntentPrediction:
        """Route ``text``; low confidence falls back to the policy's fallback intent."""
        return self._policy.decide(self._classifier.probabilities(text))
