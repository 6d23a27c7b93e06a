"""The context budget drops the oldest turns first, never the system prompt or latest message."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from evotr.domain.conversation import ContextBudget, ExchangeTurn, Message, Role
from evotr.domain.errors import ContextOverflowError, DomainValidationError

pytestmark = pytest.mark.unit

SYSTEM = Message(Role.SYSTEM, "Sen EVO-TR'sin.")


def words(messages: Sequence[Message]) -> int:
    # A stand-in tokenizer: one token per word plus 3 per message of template overhead.
    return sum(len(m.content.split()) + 3 for m in messages)


def turn(n: int, size: int = 5) -> ExchangeTurn:
    return ExchangeTurn(Message(Role.USER, " ".join([f"u{n}"] * size)),
                        Message(Role.ASSISTANT, " ".join([f"a{n}"] * size)))


def test_everything_fits_keeps_everything() -> None:
    history = [turn(i) for i in range(3)]
    latest = Message(Role.USER, "son soru")
    fitted = ContextBudget(1000).fit(SYSTEM, history, latest, words)
    assert fitted.dropped_turns == 0
    assert fitted.messages == (SYSTEM, *[m for t in history for m in t.messages], latest)
    assert fitted.tokens == words(fitted.messages)


def test_overflow_drops_oldest_turns_first() -> None:
    history = [turn(i) for i in range(10)]
    latest = Message(Role.USER, "son soru")
    budget = words((SYSTEM, latest)) + 3 * words(turn(0).messages)  # room for exactly three turns
    fitted = ContextBudget(budget).fit(SYSTEM, history, latest, words)
    assert fitted.kept_turns == 3 and fitted.dropped_turns == 7
    assert fitted.messages[0] == SYSTEM and fitted.messages[-1] == latest
    assert fitted.messages[1:-1] == tuple(m for t in history[7:] for m in t.messages)
    assert fitted.tokens <= budget


def test_kept_turns_are_the_most_that_fit() -> None:
    history = [turn(i, size=i + 1) for i in range(8)]
    latest = Message(Role.USER, "x")
    for budget in range(words((SYSTEM, latest)), 200, 7):
        fitted = ContextBudget(budget).fit(SYSTEM, history, latest, words)
        assert fitted.tokens <= budget
        if fitted.dropped_turns:
            one_more = (SYSTEM, *[m for t in history[-fitted.kept_turns - 1:] for m in t.messages], latest)
            assert words(one_more) > budget


def test_system_and_latest_alone_too_big_is_a_clear_error() -> None:
    latest = Message(Role.USER, "kelime " * 100)
    with pytest.raises(ContextOverflowError, match="context budget is 10"):
        ContextBudget(10).fit(SYSTEM, [], latest, words)


def test_empty_message_is_rejected() -> None:
    with pytest.raises(DomainValidationError, match="content"):
        Message(Role.USER, "   ")


def test_budget_must_be_positive() -> None:
    with pytest.raises(DomainValidationError):
        ContextBudget(0)
