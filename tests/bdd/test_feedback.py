"""Steps for features/feedback.feature."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from evotr.container import Container
from evotr.domain.errors import EvoTrError
from evotr.domain.intents import RoutingPolicy
from evotr.domain.turns import TurnId, new_turn_id

pytestmark = pytest.mark.bdd
scenarios("feedback.feature")


@given(parsers.re(r"(?P<count>\d+) answered turns?"), target_fixture="turn_ids")
def answered_turns(container: Container, count: str) -> list[TurnId]:
    save = container.use_cases.save_turn()
    route = RoutingPolicy().decide({"history": 0.93, **{i: 0.01 for i in (
        "general_chat", "turkish_culture", "science", "code_python", "code_debug",
        "code_explain", "code_math")}})
    return [save.execute(f"Osmanlı tarihi anlat {n}", f"yanıt {n}", route, None) for n in range(int(count))]


@pytest.fixture
def unrated(turn_ids: list[TurnId]) -> Iterator[TurnId]:
    """Turns not rated yet: each feedback goes to a different answer, as a user would give it."""
    return iter(turn_ids)


@given(parsers.re(r'feedback "(?P<kind>\w+)" on (?P<count>\d+) turns?'))
def give_feedback(container: Container, unrated: Iterator[TurnId], kind: str, count: str) -> None:
    record = container.use_cases.record_feedback()
    for _ in range(int(count)):
        record.execute(next(unrated), kind, "Doğru yanıt: 1299" if kind == "correction" else None)


@then(parsers.parse("the JSON has total {total:d}, corrections {c:d}, thumbs_down {d:d}, thumbs_up {u:d}"))
def json_counts(cli_json: Any, total: int, c: int, d: int, u: int) -> None:
    assert (cli_json["total"], cli_json["corrections"], cli_json["thumbs_down"], cli_json["thumbs_up"]) \
        == (total, c, d, u)


@then(parsers.parse('the JSON says "{message}"'))
def json_message(cli_json: Any, message: str) -> None:
    assert cli_json["message"] == message


@then("the JSON says training is ready")
def json_ready(cli_json: Any) -> None:
    assert cli_json["ready_for_training"] is True and cli_json["corrections_needed"] == 0


@when(parsers.parse('feedback "{kind}" is given on an unknown turn'), target_fixture="refusal")
def feedback_on_unknown_turn(container: Container, kind: str) -> tuple[str, EvoTrError]:
    ghost = new_turn_id()
    with pytest.raises(EvoTrError) as caught:
        container.use_cases.record_feedback().execute(ghost, kind)
    return ghost, caught.value


@then("it is refused naming that turn id")
def refused_naming_turn(refusal: tuple[str, EvoTrError]) -> None:
    ghost, error = refusal
    assert ghost in str(error)


@then(parsers.parse("the feedback total is {total:d}"))
def feedback_total(container: Container, total: int) -> None:
    assert container.use_cases.feedback_stats().execute().stats.total == total
