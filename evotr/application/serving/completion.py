"""Use case: an API chat completion — the client's conversation through the same chat turn as the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs

from evotr.application.chat import AdapterChoice, ChatReply, ChatSession, ChatTurn
from evotr.application.chat_options import ChatOptions
from evotr.domain.client_conversation import ClientConversation
from evotr.domain.errors import DomainValidationError
from evotr.domain.sampling import SamplingParams
from evotr.domain.stop_sequences import StopSequences

SOURCES = ("api", "web")


def _source(_inst: object, _attr: object, value: object) -> None:
    if value not in SOURCES:
        raise DomainValidationError("source", f"must be one of {', '.join(SOURCES)}, got {value!r}")


@attrs.frozen(slots=True)
class CompletionRequest:
    """What one ``POST /v1/chat/completions`` asks for, already validated."""

    conversation: ClientConversation
    choice: AdapterChoice
    sampling: SamplingParams
    stop: StopSequences = attrs.field(factory=StopSequences)
    source: str = attrs.field(default="api", validator=_source)


def requested_sampling(
    configured: SamplingParams,
    *,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
) -> SamplingParams:
    """The configured sampling with the client's fields over it.

    ``max_tokens`` above the configured one is capped to it: the context budget keeps exactly
    that many tokens free for the reply (finish_reason "length" tells the client).
    """
    changes: dict[str, Any] = {}
    if temperature is not None:
        changes["temperature"] = temperature
    if top_p is not None:
        changes["top_p"] = top_p
    if max_tokens is not None:
        whole = isinstance(max_tokens, int) and not isinstance(max_tokens, bool)
        if whole and max_tokens > configured.max_tokens:
            max_tokens = configured.max_tokens
        changes["max_tokens"] = max_tokens
    if seed is not None:
        changes["seed"] = seed
    return attrs.evolve(configured, **changes)  # the validators check every value


class CompleteChat:
    """Answers the client's latest message in the context of the history it sent.

    The client's system message replaces the persona (the persona is used only when it sends
    none); the context budget trims its history oldest-first as chat does; the turn is stored
    with ``source`` api or web, so feedback can name it.
    """

    def __init__(self, chat_turn: ChatTurn) -> None:
        self._chat_turn = chat_turn

    def execute(self, request: CompletionRequest,
                gone: Callable[[], bool] | None = None) -> Iterator[str | ChatReply]:
        """Yield text pieces, then the ChatReply; closing the iterator early stores nothing, nor
        does ``gone()`` being true once the model has finished (the client left meanwhile)."""
        conversation = request.conversation
        session = ChatSession(history=list(conversation.history))
        options = ChatOptions(conversation.system, request.sampling, request.stop, gone=gone)
        return self._chat_turn.execute(session, conversation.latest.content, request.choice,
                                       request.source, options)
