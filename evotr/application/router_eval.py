"""Use cases: measure the router on labelled messages, and choose its confidence threshold.

A fallback counts as a route to the policy's fallback intent (general_chat), because that is
where the message really goes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from evotr.domain.errors import EvoTrError
from evotr.domain.intents import ALL_INTENTS, Intent, RoutingPolicy
from evotr.ports.intent_classifier import IntentClassifier

Sample = tuple[str, Intent]
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(20))


class RouterEvalError(EvoTrError, ValueError):
    """Evaluation was asked for something it cannot measure (e.g. no samples)."""


@attrs.frozen(slots=True)
class IntentScore:
    """Precision, recall and F1 of one intent; ``support`` = samples whose true intent it is."""

    intent: Intent
    precision: float
    recall: float
    f1: float
    support: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {"intent": self.intent.value, "precision": self.precision, "recall": self.recall,
                "f1": self.f1, "support": self.support}


@attrs.frozen(slots=True)
class Misroute:
    """A sample routed somewhere other than its true intent."""

    text: str
    expected: Intent
    routed: Intent
    top_intent: Intent
    confidence: float
    fallback: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {"text": self.text, "expected": self.expected.value, "routed": self.routed.value,
                "top_intent": self.top_intent.value, "confidence": self.confidence,
                "fallback": self.fallback}


@attrs.frozen(slots=True)
class RouterReport:
    """How well routing matched the labels; ``confusion[t][r]`` counts true t routed to r."""

    samples: int
    threshold: float
    accuracy: float
    fallback_rate: float
    per_intent: tuple[IntentScore, ...]
    confusion: tuple[tuple[int, ...], ...]
    latency_median_ms: float
    latency_p95_ms: float
    misrouted: tuple[Misroute, ...]

    @property
    def macro_f1(self) -> float:
        """Unweighted mean F1 over the intents that have samples."""
        scored = [s.f1 for s in self.per_intent if s.support]
        return sum(scored) / len(scored) if scored else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values (intents in declaration order for the matrix axes)."""
        return {
            "samples": self.samples, "threshold": self.threshold, "accuracy": self.accuracy,
            "macro_f1": self.macro_f1, "fallback_rate": self.fallback_rate,
            "per_intent": [s.as_dict() for s in self.per_intent],
            "intents": [i.value for i in ALL_INTENTS],
            "confusion": [list(row) for row in self.confusion],
            "latency_ms": {"median": self.latency_median_ms, "p95": self.latency_p95_ms},
            "misrouted": [m.as_dict() for m in self.misrouted],
        }


@attrs.frozen(slots=True)
class ThresholdPoint:
    """Routing accuracy and fallback rate at one threshold."""

    threshold: float
    accuracy: float
    fallback_rate: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {"threshold": self.threshold, "accuracy": self.accuracy, "fallback_rate": self.fallback_rate}


@attrs.frozen(slots=True)
class TuneReport:
    """The accuracy/fallback curve and the best threshold (highest accuracy, ties → higher)."""

    samples: int
    points: tuple[ThresholdPoint, ...]
    best: ThresholdPoint

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {"samples": self.samples, "points": [p.as_dict() for p in self.points],
                "best_threshold": self.best.threshold, "best_accuracy": self.best.accuracy,
                "best_fallback_rate": self.best.fallback_rate}


def percentile(values: Sequence[float], pct: float) -> float:
    """Linearly interpolated percentile (the usual definition, as NumPy's default)."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _scores(confusion: Sequence[Sequence[int]]) -> tuple[IntentScore, ...]:
    scores = []
    for c, intent in enumerate(ALL_INTENTS):
        hit = confusion[c][c]
        support = sum(confusion[c])
        precision = _ratio(hit, sum(row[c] for row in confusion))
        recall = _ratio(hit, support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(IntentScore(intent, precision, recall, f1, support))
    return tuple(scores)


def _require(samples: Sequence[Sample]) -> None:
    if not samples:
        raise RouterEvalError("no samples to evaluate the router on")


class EvaluateRouter:
    """Route every labelled sample with the policy and compare with its label."""

    def __init__(self, classifier: IntentClassifier, policy: RoutingPolicy) -> None:
        self._classifier = classifier
        self._policy = policy

    def execute(self, samples: Sequence[Sample],
                clock: Callable[[], float] = time.perf_counter) -> RouterReport:
        """Accuracy, per-intent P/R/F1, confusion matrix, fallback rate and per-message latency."""
        _require(samples)
        index = {intent: n for n, intent in enumerate(ALL_INTENTS)}
        confusion = [[0] * len(ALL_INTENTS) for _ in ALL_INTENTS]
        latencies: list[float] = []
        misrouted: list[Misroute] = []
        fallbacks = 0
        for text, expected in samples:
            started = clock()
            decision = self._policy.decide(self._classifier.probabilities(text))
            latencies.append((clock() - started) * 1000.0)
            confusion[index[expected]][index[decision.intent]] += 1
            fallbacks += decision.fallback
            if decision.intent != expected:
                misrouted.append(Misroute(text, expected, decision.intent, decision.top_intent,
                                          decision.confidence, decision.fallback))
        correct = sum(confusion[c][c] for c in range(len(ALL_INTENTS)))
        return RouterReport(
            samples=len(samples),
            threshold=self._policy.threshold,
            accuracy=correct / len(samples),
            fallback_rate=fallbacks / len(samples),
            per_intent=_scores(confusion),
            confusion=tuple(tuple(row) for row in confusion),
            latency_median_ms=statistics.median(latencies),
            latency_p95_ms=percentile(latencies, 95),
            misrouted=tuple(misrouted),
        )


class TuneThreshold:
    """Accuracy and fallback rate per candidate threshold, from one pass of the classifier."""

    def __init__(self, classifier: IntentClassifier, fallback_intent: Intent = Intent.GENERAL_CHAT) -> None:
        self._classifier = classifier
        self._fallback = fallback_intent

    def execute(self, samples: Sequence[Sample],
                thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> TuneReport:
        """Every threshold's point, and the best one (max accuracy; ties → the higher threshold)."""
        _require(samples)
        if not thresholds:
            raise RouterEvalError("no thresholds to try")
        distributions: list[Mapping[Intent, float]] = [self._classifier.probabilities(t) for t, _ in samples]
        ranked: list[tuple[int, float, ThresholdPoint]] = []
        for threshold in thresholds:
            policy = RoutingPolicy(threshold, self._fallback)
            decisions = [policy.decide(p) for p in distributions]
            correct = sum(d.intent == label for d, (_, label) in zip(decisions, samples, strict=True))
            fallbacks = sum(d.fallback for d in decisions)
            point = ThresholdPoint(threshold, correct / len(samples), fallbacks / len(samples))
            ranked.append((correct, threshold, point))
        # Compare correct counts, not float accuracies, so ties are exact.
        best = max(ranked, key=lambda r: (r[0], r[1]))[2]
        return TuneReport(len(samples), tuple(r[2] for r in ranked), best)
