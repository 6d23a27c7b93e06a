"""Messages, turns and the context budget that trims the oldest turns first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

import attrs

from evotr.domain.errors import ContextOverflowError
from evotr.domain.validation import non_empty_text, positive_int


class Role(StrEnum):
    """Who said a message (chat-template roles)."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@attrs.frozen(slots=True)
class Message:
    """One chat message; the text must not be empty."""

    role: Role = attrs.field(converter=Role)
    content: str = attrs.field(validator=non_empty_text)

    def as_dict(self) -> dict[str, str]:
        """The ``{"role", "content"}`` shape chat templates and mlx-lm datasets use."""
        return {"role": self.role.value, "content": self.content}


@attrs.frozen(slots=True)
class ExchangeTurn:
    """A user message and the assistant's answer to it."""

    user: Message
    assistant: Message

    def __attrs_post_init__(self) -> None:
        if self.user.role is not Role.USER or self.assistant.role is not Role.ASSISTANT:
            raise ValueError("a turn is a user message followed by an assistant message")

    @property
    def messages(self) -> tuple[Message, Message]:
        """The turn as two messages in order."""
        return (self.user, self.assistant)


TokenCounter = Callable[[Sequence[Message]], int]


@attrs.frozen(slots=True)
class FittedContext:
    """The prompt that fits: system + exemplars + kept turns + latest message, and what was dropped."""

    messages: tuple[Message, ...]
    kept_turns: int
    dropped_turns: int
    tokens: int
    # Few-shot exemplars kept (the first ones offered; the rest did not fit).
    kept_exemplars: int = 0


@attrs.frozen(slots=True)
class ContextBudget:
    """At most ``max_tokens`` of prompt; history goes oldest first, never system or latest."""

    max_tokens: int = attrs.field(validator=positive_int)

    def fit(
        self,
        system: Message,
        history: Sequence[ExchangeTurn],
        latest: Message,
        count_tokens: TokenCounter,
        exemplars: Sequence[ExchangeTurn] = (),
    ) -> FittedContext:
        """Keep the newest turns that fit; raise ContextOverflowError if even none fit.

        ``exemplars`` (few-shot turns, best first) go between the system prompt and the history.
        They are dropped first: the history is fitted without them, then as many of them as
        still fit are added, the best first.
        """
        if system.role is not Role.SYSTEM or latest.role is not Role.USER:
            raise ValueError("fit() takes a system message and the latest user message")

        def build(keep: int, shots: int = 0) -> tuple[Message, ...]:
            turns = history[len(history) - keep:] if keep else ()
            return (system, *(m for t in exemplars[:shots] for m in t.messages),
                    *(m for t in turns for m in t.messages), latest)

        minimum = count_tokens(build(0))
        if minimum > self.max_tokens:
            raise ContextOverflowError(
                f"the system prompt and the message need {minimum} tokens but the context "
                f"budget is {self.max_tokens}; shorten the message or raise context.max_tokens"
            )
        # Token counts grow with every kept turn, so binary search the largest count that fits.
        lo, hi = 0, len(history)
        best_tokens = minimum
        while lo < hi:
            mid = (lo + hi + 1) // 2
            tokens = count_tokens(build(mid))
            if tokens <= self.max_tokens:
                lo, best_tokens = mid, tokens
            else:
                hi = mid - 1
        # k is small (2 by default): add exemplars one at a time while the prompt still fits.
        shots = 0
        while shots < len(exemplars):
            tokens = count_tokens(build(lo, shots + 1))
            if tokens > self.max_tokens:
                break
            shots, best_tokens = shots + 1, tokens
        return FittedContext(build(lo, shots), lo, len(history) - lo, best_tokens, shots)
