"""Use case: one chat turn — route, pick the adapter, fit the context, stream, persist."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from types import MappingProxyType

import attrs

from evotr.application.adapters import AdapterValidationError, broken_adapter, require_family
from evotr.application.routing import RouteMessage
from evotr.application.turns import SaveTurn
from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.domain.conversation import ContextBudget, ExchangeTurn, Message, Role
from evotr.domain.errors import DomainValidationError
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.intents import Intent
from evotr.domain.sampling import SamplingParams
from evotr.domain.turns import TurnId
from evotr.ports.adapter_store import AdapterStore
from evotr.ports.feedback_repository import FeedbackRepository
from evotr.ports.llm_backend import LLMBackend

MAX_MESSAGE_CHARS = 100_000


@attrs.frozen(slots=True)
class AdapterChoice:
    """``auto`` (routed), ``none`` (base model) or a family forced for every message."""

    mode: str = "auto"
    family: AdapterFamily | None = None

    @classmethod
    def parse(cls, value: str) -> AdapterChoice:
        """``auto``, ``none`` or a family name such as ``tr_chat``."""
        if value in ("auto", "none"):
            return cls(value)
        return cls("family", AdapterFamily(value))

    def __str__(self) -> str:
        return self.family.name if self.family else self.mode


def _freeze(value: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class ChatReply:
    """What one message got back, and how."""

    text: str
    intent: Intent
    confidence: float
    fallback: bool
    adapter: AdapterVersion | None
    turn_id: TurnId
    prompt_tokens: int
    dropped_turns: int
    timings_ms: Mapping[str, float] = attrs.field(converter=_freeze)

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of `evotr ask --json`."""
        return {
            "text": self.text,
            "intent": self.intent.value,
            "confidence": round(self.confidence, 4),
            "fallback": self.fallback,
            "adapter": None if self.adapter is None else self.adapter.name,
            "turn_id": self.turn_id,
            "prompt_tokens": self.prompt_tokens,
            "dropped_turns": self.dropped_turns,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }


@attrs.define
class ChatSession:
    """Short-term memory of one conversation: its turns, kept in order."""

    id: str = attrs.field(factory=lambda: uuid.uuid4().hex[:12])
    history: list[ExchangeTurn] = attrs.field(factory=list)
    last_turn_id: TurnId | None = None

    def reset(self) -> None:
        """Forget the conversation (stored turns and feedback stay in the database)."""
        self.history.clear()
        self.last_turn_id = None


def validate_message(text: object) -> str:
    """A message must be non-empty text of at most MAX_MESSAGE_CHARS characters."""
    if not isinstance(text, str):
        raise DomainValidationError("message", f"must be text, got {type(text).__name__}")
    if not text.strip():
        raise DomainValidationError("message", "is empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise DomainValidationError(
            "message", f"is {len(text):,} characters; at most {MAX_MESSAGE_CHARS:,} are accepted"
        )
    return text


class ChatTurn:
    """Routes, switches the adapter in, streams, and stores the turn before returning."""

    def __init__(
        self,
        route: RouteMessage,
        mapping: IntentMapping,
        store: AdapterStore,
        llm: LLMBackend,
        repository: FeedbackRepository,
        budget: ContextBudget,
        persona: str,
        sampling: SamplingParams,
    ) -> None:
        self._route = route
        self._mapping = mapping
        self._store = store
        self._llm = llm
        self._save_turn = SaveTurn(repository)
        self._budget = budget
        self._system = Message(Role.SYSTEM, persona)
        self._sampling = sampling

    def execute(
        self, session: ChatSession, text: str, choice: AdapterChoice = AdapterChoice(), source: str = "cli"
    ) -> Iterator[str | ChatReply]:
        """Yield the reply's text pieces, then the ChatReply (after the turn is stored)."""
        started = time.perf_counter()
        user = Message(Role.USER, validate_message(text))
        route = self._route.execute(text)
        adapter = self._adapter_for(route.intent, choice)
        routed = time.perf_counter()
        fitted = self._budget.fit(self._system, session.history, user, self._llm.count_tokens)
        prompted = time.perf_counter()
        pieces: list[str] = []
        first_piece = None
        for piece in self._llm.stream(fitted.messages, self._sampling, adapter):
            first_piece = first_piece or time.perf_counter()
            pieces.append(piece)
            yield piece
        generated = time.perf_counter()
        reply = "".join(pieces)
        timings = {
            "route": (routed - started) * 1000,
            "prompt": (prompted - routed) * 1000,
            "first_token": ((first_piece or generated) - prompted) * 1000,
            "generate": (generated - prompted) * 1000,
        }
        turn_id = self._save_turn.execute(text, reply, route, adapter, session_id=session.id,
                                          source=source, timings_ms=timings)
        timings["persist"] = (time.perf_counter() - generated) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000
        if reply.strip():
            session.history.append(ExchangeTurn(user, Message(Role.ASSISTANT, reply)))
        session.last_turn_id = turn_id
        yield ChatReply(reply, route.intent, route.confidence, route.fallback, adapter, turn_id,
                        fitted.tokens, fitted.dropped_turns, timings)

    def _adapter_for(self, intent: Intent, choice: AdapterChoice) -> AdapterVersion | None:
        if choice.mode == "none":
            return None
        family = choice.family or self._mapping.family_for(intent)
        require_family(self._mapping, family)
        # The registry is read per message, so a promotion elsewhere takes effect at once.
        version = self._store.load_registry().active(family)
        if version is not None and version not in self._llm.registered_adapters():
            problems = self._store.problems(version)
            if problems:
                folder = self._store.path(version)
                raise AdapterValidationError([broken_adapter(intent, family, version, p, folder)
                                              for p in problems])
            self._llm.register_adapter(version, self._store.path(version))
        return version
