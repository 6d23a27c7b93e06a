"""Steps for features/routing.feature: the real container, the shipped configs, the n-gram router."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from evotr.application.routing import RouteMessage
from evotr.container import build_container
from evotr.domain.intents import Intent, IntentPrediction

pytestmark = pytest.mark.bdd
scenarios("routing.feature")


@pytest.fixture(scope="module")
def router_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One existing home for the module: the first scenario trains and saves, the rest load it.
    home = tmp_path_factory.mktemp("routing") / "home"
    home.mkdir()
    return home


@given("the router of the shipped configuration", target_fixture="route")
def shipped_router(router_home: Path) -> RouteMessage:
    container = build_container(home=router_home, env={})
    assert container.settings().backends["classifier"] == "ngram"
    route: RouteMessage = container.use_cases.route_message()
    return route


@when(parsers.parse('I route "{message}"'), target_fixture="decision")
def route_one(route: RouteMessage, message: str) -> IntentPrediction:
    return route.execute(message)


@when(parsers.parse('I route each of "{a}", "{b}" and "{c}"'), target_fixture="decisions")
def route_each(route: RouteMessage, a: str, b: str, c: str) -> list[IntentPrediction]:
    return [route.execute(text) for text in (a, b, c)]


@then(parsers.parse('it goes to "{intent}" with confidence at least {threshold:f} and no fallback'))
def routed_confidently(decision: IntentPrediction, intent: str, threshold: float) -> None:
    assert decision.intent is Intent(intent) and decision.top_intent is Intent(intent), decision
    assert decision.confidence >= threshold and not decision.fallback, decision


@then(parsers.parse('it falls back to "{intent}" below {threshold:f} confidence'))
def falls_back(decision: IntentPrediction, intent: str, threshold: float) -> None:
    assert decision.fallback and decision.intent is Intent(intent), decision
    assert decision.confidence < threshold


@then("they all go to the same intent with identical probabilities")
def alike(decisions: list[IntentPrediction]) -> None:
    first = decisions[0]
    for other in decisions[1:]:
        assert other.intent is first.intent
        assert dict(other.probabilities) == dict(first.probabilities)
