"""Use case: one chat turn — route, pick the adapter, fit the context, stream, persist."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

import attrs

from evotr.application.adapter_choice import AdapterChoice, ChooseAdapter, require_usable
from evotr.application.adapters import require_family
from evotr.application.chat_options import ChatOptions
from evotr.application.exemplars import FewShot, RecallExemplars
from evotr.application.memory import LongTermMemory
from evotr.application.recall_ahead import RecallAhead
from evotr.application.routing import RouteMessage
from evotr.application.turns import SaveTurn
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import ContextBudget, ExchangeTurn, Message, Role
from evotr.domain.errors import DomainValidationError, EvoTrError
from evotr.domain.exemplar_cache import CacheStats
from evotr.domain.feedback import CACHE_HIT_TIMING
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.intents import Intent
from evotr.domain.memory_rules import Recalled
from evotr.domain.sampling import SamplingParams
from evotr.domain.text import encoding_problem
from evotr.domain.turns import TurnId
from evotr.ports.adapter_store import AdapterStore
from evotr.ports.feedback_repository import FeedbackRepository
from evotr.ports.llm_backend import LLMBackend

MAX_MESSAGE_CHARS = 100_000
_AUTO = AdapterChoice()
_PLAIN = ChatOptions()
# Re-exported: these lived here before adapter_choice.py, and callers import them from here.
__all__ = ["AdapterChoice", "ChatOptions", "ChatReply", "ChatSession", "ChatTurn", "ChooseAdapter",
           "NoFeedbackTargetError", "require_usable", "validate_message"]


class NoFeedbackTargetError(EvoTrError):
    """Feedback without a turn id, when the user has seen no stored answer to judge."""


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
    # Pieces the model produced (one per token, except where a character spans tokens) and why
    # it stopped: "stop" (end of answer or a stop sequence) or "length" (max_tokens reached).
    completion_tokens: int = 0
    finish_reason: str = "stop"
    # The long-term memories put into this answer's prompt, in prompt order.
    memory_ids: tuple[str, ...] = ()
    # The few-shot exemplars put before the conversation (best first), and the exemplar cache's
    # counts in this process after this message (None: the dynamic prompt was off).
    exemplar_ids: tuple[str, ...] = ()
    exemplar_cache: CacheStats | None = None

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
            "memory_ids": list(self.memory_ids),
            "exemplar_ids": list(self.exemplar_ids),
            "exemplar_cache": None if self.exemplar_cache is None else self.exemplar_cache.as_dict(),
        }


@attrs.define
class ChatSession:
    """Short-term memory of one conversation: its turns, kept in order.

    ``last_turn_id`` is the stored answer the user saw last — the one feedback without a turn id
    judges. A new message clears it at once, so a message that fails or is stopped leaves
    nothing to rate (``unanswered`` says so) instead of the answer before it.
    """

    id: str = attrs.field(factory=lambda: uuid.uuid4().hex[:12])
    history: list[ExchangeTurn] = attrs.field(factory=list)
    last_turn_id: TurnId | None = None
    unanswered: bool = False
    # What long-term memory put into the last answer's prompt (`/memory` shows it).
    recalled: tuple[Recalled, ...] = ()

    def reset(self) -> None:
        """Forget the conversation (stored turns and feedback stay in the database)."""
        self.history.clear()
        self.last_turn_id = None
        self.unanswered = False
        self.recalled = ()

    def feedback_target(self) -> TurnId:
        """The turn that feedback without an explicit id applies to; refuses when there is none."""
        if self.last_turn_id is not None:
            return self.last_turn_id
        if self.unanswered:
            raise NoFeedbackTargetError(
                "your last message got no stored answer (it failed or was stopped), so there is "
                "nothing to rate; send it again, or give the turn id of an earlier answer"
            )
        raise NoFeedbackTargetError("there is no answer yet to give feedback on")


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
    problem = encoding_problem(text)
    if problem is not None:
        raise DomainValidationError("message", problem)
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
        memory: LongTermMemory | None = None,
        exemplars: RecallExemplars | None = None,
    ) -> None:
        self._route = route
        self._mapping = mapping
        self._store = store
        self._llm = llm
        self._repository = repository
        self._save_turn = SaveTurn(repository)
        self._budget = budget
        self._system = Message(Role.SYSTEM, persona)
        self._sampling = sampling
        self._memory = memory
        self._exemplars = exemplars
        self._ahead = RecallAhead()

    def execute(
        self, session: ChatSession, text: str, choice: AdapterChoice = _AUTO, source: str = "cli",
        options: ChatOptions = _PLAIN,
    ) -> Iterator[str | ChatReply]:
        """Yield the reply's text pieces, then the ChatReply (after the turn is stored).

        Closing the iterator before the ChatReply (a stopped answer, a client gone) stops the
        model and stores nothing.
        """
        # From here on the previous answer is no longer "the one just seen": see ChatSession.
        session.last_turn_id, session.unanswered = None, True
        started = time.perf_counter()
        user = Message(Role.USER, validate_message(text))
        # Long-term memory: one embedding of the message serves recall now and remember later.
        memory = self._memory if options.memory else None
        ahead = self._ahead.start(memory, session.id, text)  # runs while the message is routed
        try:
            # Refuse before generating: an answer that could not be stored would be lost.
            self._repository.check_writable()
            route = self._route.execute(text)
            adapter = self._adapter_for(route.intent, choice)
        except BaseException:
            RecallAhead.abandon(ahead)
            raise
        routed = time.perf_counter()
        system = self._system if options.system is None else Message(Role.SYSTEM, options.system)
        # "memory" is what recall took beyond routing (the two overlap).
        recollection = None if ahead is None else ahead.result()
        session.recalled = () if recollection is None else recollection.used
        if recollection is not None and recollection.block:
            system = Message(Role.SYSTEM, f"{system.content.rstrip()}\n\n{recollection.block}")
        recalled = time.perf_counter()
        # The dynamic prompt: past approved or corrected answers of this intent as few-shot turns.
        # It reuses recall's embedding of the message (when recall made one: not with a query
        # tower, and then only a cache miss with exemplars to search embeds it); options.memory=False
        # turns it off too.
        few = FewShot()
        if self._exemplars is not None and options.memory:
            few = self._exemplars.execute(route.intent, text,
                                          None if recollection is None else recollection.vector or None)
        exemplified = time.perf_counter()
        sampling = options.sampling or self._sampling
        fitted = self._budget.fit(system, session.history, user, self._llm.count_tokens, few.turns)
        prompted = time.perf_counter()
        pieces: list[str] = []
        first_piece = None
        steps, scanner = 0, options.stop.scanner()
        stream = self._llm.stream(fitted.messages, sampling, adapter)
        try:
            for step in stream:
                first_piece, steps = first_piece or time.perf_counter(), steps + 1
                piece = scanner.feed(step)
                if piece:
                    pieces.append(piece)
                    yield piece
                if scanner.stopped:
                    break
        finally:
            _close(stream)  # a stop sequence, or the caller closing us: the model stops now
        tail = scanner.flush()
        if tail:
            pieces.append(tail)
            yield tail
        if options.gone is not None and options.gone():
            return
        generated = time.perf_counter()
        reply = "".join(pieces)
        timings = {
            "route": (routed - started) * 1000,
            "memory": (recalled - routed) * 1000,
            "exemplars": (exemplified - recalled) * 1000,
            "prompt": (prompted - exemplified) * 1000,
            "first_token": ((first_piece or generated) - prompted) * 1000,
            "generate": (generated - prompted) * 1000,
        }
        if self._exemplars is not None and options.memory:
            timings[CACHE_HIT_TIMING] = 1.0 if few.cache_hit else 0.0
        # The exact messages the budget let through (not the whole history) are what training
        # must rebuild, together with how the reply was sampled.
        turn_id = self._save_turn.execute(text, reply, route, adapter, session_id=session.id,
                                          source=source, timings_ms=timings, messages=fitted.messages,
                                          sampling=sampling)
        if memory is not None and recollection is not None:
            # Off the answer's path: Chroma's writes take tens of milliseconds (see writes.py).
            memory.writes.submit(functools.partial(memory.remember.execute, recollection, reply, session.id,
                                                   route.intent, turn_id))
        timings["persist"] = (time.perf_counter() - generated) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000
        if reply.strip():
            session.history.append(ExchangeTurn(user, Message(Role.ASSISTANT, reply)))
        session.last_turn_id, session.unanswered = turn_id, False
        finish = "length" if steps >= sampling.max_tokens and not scanner.stopped else "stop"
        yield ChatReply(reply, route.intent, route.confidence, route.fallback, adapter, turn_id,
                        fitted.tokens, fitted.dropped_turns, timings, steps, finish,
                        () if recollection is None else recollection.ids,
                        few.ids[:fitted.kept_exemplars],
                        None if self._exemplars is None or not options.memory else self._exemplars.stats)

    def _adapter_for(self, intent: Intent, choice: AdapterChoice) -> AdapterVersion | None:
        if choice.mode == "none":
            return None
        family = choice.family or self._mapping.family_for(intent)
        require_family(self._mapping, family)
        # The registry is read per message, so a promotion elsewhere takes effect at once.
        version = choice.version or self._store.load_registry().active(family)
        if version is not None and version not in self._llm.registered_adapters():
            require_usable(self._mapping, self._store, version)
            self._llm.register_adapter(version, self._store.path(version))
        return version


def _close(stream: Iterable[str]) -> None:
    """Close a generator-backed stream (a plain iterator has nothing to stop)."""
    close = getattr(stream, "close", None)
    if close is not None:
        close()
