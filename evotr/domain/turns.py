"""A persisted chat turn: what was asked, answered, how it was routed, and exactly what was sent."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import NewType

import attrs

from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.errors import DomainValidationError
from evotr.domain.intents import Intent, to_intent
from evotr.domain.sampling import SamplingParams
from evotr.domain.validation import aware_datetime, probability

TurnId = NewType("TurnId", str)
_TURN_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def new_turn_id() -> TurnId:
    """A fresh id, unique across processes sharing one database."""
    return TurnId(uuid.uuid4().hex)


def parse_turn_id(value: str) -> TurnId:
    """Validate a turn id given by a user or a caller."""
    if not isinstance(value, str) or not _TURN_ID_RE.fullmatch(value):
        raise DomainValidationError("turn_id", f"{value!r} is not a turn id (32 hex characters)")
    return TurnId(value)


def _message_tuple(value: Iterable[Message]) -> tuple[Message, ...]:
    return tuple(value)


def _timings(value: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType({str(k): float(v) for k, v in value.items()})


@attrs.frozen(slots=True)
class TurnRecord:
    """One answered message as stored for feedback and training.

    ``messages`` are the exact messages the model was sent (system prompt, the history the
    context budget kept, recalled context, the user's message last) and ``sampling`` how the reply
    was sampled, so training can rebuild the prompt the user saw. Turns stored before these were
    recorded have neither: :attr:`sent_messages` is then the user's message alone.
    """

    prompt: str
    reply: str
    intent: Intent = attrs.field(converter=to_intent)
    confidence: float = attrs.field(validator=probability)
    fallback: bool = False
    adapter: AdapterVersion | None = None
    session_id: str = "default"
    source: str = "cli"
    timings_ms: Mapping[str, float] = attrs.field(factory=dict, converter=_timings)
    id: TurnId = attrs.field(factory=new_turn_id, converter=parse_turn_id)
    created_at: datetime = attrs.field(factory=lambda: datetime.now(UTC), validator=aware_datetime)
    messages: tuple[Message, ...] = attrs.field(default=(), converter=_message_tuple)
    sampling: SamplingParams | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise DomainValidationError("prompt", "must not be empty")
        if not isinstance(self.reply, str):
            raise DomainValidationError("reply", "must be text")
        if self.messages:
            last = self.messages[-1]
            if not all(isinstance(m, Message) for m in self.messages):
                raise DomainValidationError("messages", "must be chat messages")
            # The record would lie about what was asked if the last message sent were another text.
            if last.role is not Role.USER or last.content != self.prompt:
                raise DomainValidationError("messages", "must end with the user's message, the prompt")
        if self.sampling is not None and not isinstance(self.sampling, SamplingParams):
            raise DomainValidationError("sampling", "must be SamplingParams or None")

    @property
    def sent_messages(self) -> tuple[Message, ...]:
        """What the model was sent; for turns stored before that was recorded, the prompt alone."""
        return self.messages or (Message(Role.USER, self.prompt),)
