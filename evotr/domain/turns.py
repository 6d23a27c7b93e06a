"""A persisted chat turn: what was asked, answered, and how it was routed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import NewType

import attrs

from evotr.domain.adapters import AdapterVersion
from evotr.domain.errors import DomainValidationError
from evotr.domain.intents import Intent, to_intent
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


def _timings(value: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType({str(k): float(v) for k, v in value.items()})


@attrs.frozen(slots=True)
class TurnRecord:
    """One answered message as stored for feedback and training."""

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

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise DomainValidationError("prompt", "must not be empty")
        if not isinstance(self.reply, str):
            raise DomainValidationError("reply", "must be text")
