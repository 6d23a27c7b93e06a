"""A conversation as an API client sends it: system text, earlier exchanges, the latest message.

OpenAI-style clients resend the whole conversation with every request. It is turned into the
shape chat uses (one system message, user/assistant turns, the user's latest message) so the
context budget trims it exactly as it trims a CLI conversation.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from evotr.domain.conversation import ExchangeTurn, Message, Role
from evotr.domain.errors import DomainValidationError


@attrs.frozen(slots=True)
class ClientConversation:
    """``system`` is None when the client sent none (the persona is used then)."""

    system: str | None
    history: tuple[ExchangeTurn, ...]
    latest: Message

    @classmethod
    def from_messages(cls, messages: Sequence[Message]) -> ClientConversation:
        """Group ``messages``: system texts joined, same-role neighbours merged, user last.

        Several system messages (anywhere) become one, in order. Two user messages in a row are
        one message to the model, as are two assistant messages. The last message must be the
        user's and the first non-system one too (an answer needs a question before it).
        """
        if not messages:
            raise DomainValidationError("messages", "must hold at least one message")
        systems = [m.content for m in messages if m.role is Role.SYSTEM]
        merged: list[Message] = []
        for message in (m for m in messages if m.role is not Role.SYSTEM):
            if merged and merged[-1].role is message.role:
                merged[-1] = Message(message.role, f"{merged[-1].content}\n\n{message.content}")
            else:
                merged.append(message)
        if not merged or merged[-1].role is not Role.USER:
            raise DomainValidationError("messages", "the last message must be the user's (role 'user')")
        if merged[0].role is not Role.USER:
            raise DomainValidationError(
                "messages", "the first message after the system prompt must be the user's, not an answer"
            )
        history = tuple(ExchangeTurn(merged[i], merged[i + 1]) for i in range(0, len(merged) - 1, 2))
        return cls("\n\n".join(systems) if systems else None, history, merged[-1])
