"""Intents, predictions and the routing policy (threshold + fallback)."""

from __future__ import annotations

import pytest

from evotr.domain.errors import DomainValidationError, UnknownIntentError
from evotr.domain.intents import ALL_INTENTS, Intent, IntentPrediction, RoutingPolicy

pytestmark = pytest.mark.unit


def distribution(top: Intent, p: float) -> dict[Intent, float]:
    rest = (1.0 - p) / (len(ALL_INTENTS) - 1)
    return {i: (p if i is top else rest) for i in ALL_INTENTS}


def test_there_are_exactly_the_eight_intents() -> None:
    assert {i.value for i in Intent} == {
        "general_chat", "turkish_culture", "history", "science",
        "code_python", "code_debug", "code_explain", "code_math",
    }


def test_unknown_intent_lists_valid_names() -> None:
    with pytest.raises(UnknownIntentError, match="general_chat"):
        Intent.parse("weather")


@pytest.mark.parametrize("confidence", [0.7, 0.71, 0.99])
def test_confident_prediction_routes_to_top_intent(confidence: float) -> None:
    decision = RoutingPolicy(threshold=0.7).decide(distribution(Intent.HISTORY, confidence))
    assert decision.intent is Intent.HISTORY
    assert decision.top_intent is Intent.HISTORY
    assert decision.fallback is False
    assert decision.confidence == pytest.approx(confidence)


@pytest.mark.parametrize("confidence", [0.53, 0.55, 0.6999])
def test_unsure_prediction_falls_back_and_says_so(confidence: float) -> None:
    # The old product computed 53-55 % and routed anyway: the threshold was never applied.
    decision = RoutingPolicy().decide(distribution(Intent.SCIENCE, confidence))
    assert decision.intent is Intent.GENERAL_CHAT
    assert decision.top_intent is Intent.SCIENCE
    assert decision.fallback is True


def test_prediction_keeps_every_intents_probability() -> None:
    decision = RoutingPolicy().decide({i.value: p for i, p in distribution(Intent.CODE_MATH, 0.9).items()})
    assert set(decision.probabilities) == set(ALL_INTENTS)
    assert sum(decision.probabilities.values()) == pytest.approx(1.0)


def test_fallback_intent_is_configurable() -> None:
    decision = RoutingPolicy(0.9, "science").decide(distribution(Intent.HISTORY, 0.8))
    assert decision.intent is Intent.SCIENCE and decision.fallback


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan"), "0.7", True])
def test_threshold_outside_zero_one_is_rejected(threshold: object) -> None:
    with pytest.raises(DomainValidationError, match="threshold"):
        RoutingPolicy(threshold=threshold)  # type: ignore[arg-type]


def test_incomplete_distribution_is_rejected() -> None:
    with pytest.raises(DomainValidationError, match="missing intents"):
        RoutingPolicy().decide({Intent.HISTORY: 1.0})


def test_distribution_must_sum_to_one() -> None:
    probs = {i: 0.5 for i in ALL_INTENTS}
    with pytest.raises(DomainValidationError, match="sum"):
        RoutingPolicy().decide(probs)


def test_prediction_cannot_claim_a_non_top_intent_without_fallback() -> None:
    probs = distribution(Intent.HISTORY, 0.9)
    with pytest.raises(DomainValidationError):
        IntentPrediction(probs, Intent.SCIENCE, probs[Intent.SCIENCE], Intent.SCIENCE, False)
