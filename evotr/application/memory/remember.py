"""Use case: after a turn, store its facts (merged or superseding) and the exchange; keep the cap."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

import attrs

from evotr.application.memory.backfill import RecordBackfill
from evotr.application.memory.ranking import fact_features, features_metadata
from evotr.application.memory.recall import ACTIVE_FACTS, RecallMemory, Recollection
from evotr.application.memory.second_opinion import SecondOpinion
from evotr.application.memory.writes import BackgroundWrites
from evotr.domain.facts import OPPOSITE, Fact
from evotr.domain.intents import Intent
from evotr.domain.memory import KIND, MemoryHit, MemoryKind, MemoryMetadata, MemoryRecord, MetadataValue
from evotr.domain.memory_rules import (
    ACTIVE,
    SAID,
    SLOT,
    STATED,
    STATUS,
    SUBJECT,
    SUPERSEDED,
    SUPERSEDED_BY,
    SUPERSEDES,
    TOPIC,
    TURN,
    VALUE_KEY,
    MemoryPolicy,
    decide,
    exchange_text,
    least_recently_recalled,
    near_duplicate,
)
from evotr.domain.relevance.features import features
from evotr.ports.embedder import Embedder
from evotr.ports.vector_store import VectorStore

_FACT_ONLY_CHARS = 120
_REPEAT_SEARCH = 10  # nearest records searched for an earlier exchange of the same message


def new_id(kind: MemoryKind) -> str:
    """A short id a user can type: ``f-`` for facts, ``e-`` for exchanges, 10 hex digits."""
    return f"{kind.value[0]}-{uuid.uuid4().hex[:10]}"


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class RememberTurn:
    """Stores what a turn taught: facts (merged, superseding) and the exchange; evicts over the cap."""

    def __init__(self, store: VectorStore, policy: MemoryPolicy,
                 clock: Callable[[], float] = time.time, backfill: RecordBackfill | None = None,
                 second: SecondOpinion | None = None, embedder: Embedder | None = None) -> None:
        self._store = store
        # Embeds the message here, after the answer, when recall searched without its plain
        # vector (Recollection.complete).
        self._embedder = embedder
        self._policy = policy
        self._clock = clock
        # Each new memory carries the second embedder's vector of what the user said.
        self._second = second
        self._backfill = backfill or RecordBackfill(store, second=second)

    def execute(self, recollection: Recollection, reply: str, session_id: str,
                intent: Intent | None = None, turn_id: str | int | None = None) -> tuple[str, ...]:
        """The ids written or merged into; nothing for an empty reply's exchange.

        The recall bookkeeping of ``recollection`` is written first (what this turn recalled).
        """
        if not recollection.vector:
            if self._embedder is None:
                raise ValueError("this recollection has no vector of the message and the memory "
                                 "writer no embedder to make it")
            recollection = recollection.complete(self._embedder)
        self._store.update_metadata(recollection.recalls)
        now = self._clock()
        written = [self._fact(fact, vector, session_id, intent, now, recollection.wording)
                   for fact, vector in recollection.facts]
        # A short message that was all facts ("Benim adım Kaan") is kept as its facts alone: its
        # exchange would only repeat them in every later prompt.
        if reply.strip() and not (recollection.facts and len(recollection.message) <= _FACT_ONLY_CHARS):
            written.append(self._exchange(recollection, reply, session_id, intent, turn_id, now))
        evict = self._policy.evict_count(self._store.count())
        if evict:
            self._store.delete(least_recently_recalled(self._store.find(), evict))
        # Older records get the wording numbers recall mixes its scores with, and features and links
        # of today's version (backfill.py).
        self._backfill.step(recollection.wording)
        return tuple(written)

    def _fact(self, fact: Fact, vector: tuple[float, ...], session: str, intent: Intent | None,
              now: float, wording: Mapping[str, Sequence[float]] | None = None) -> str:
        related = [r for r in self._store.find({**ACTIVE_FACTS, SUBJECT: fact.subject})
                   if r.metadata.get(TOPIC, "") == fact.topic
                   and r.metadata.get(SLOT) in (fact.slot.value, OPPOSITE.get(fact.slot, fact.slot).value)]
        hits = [MemoryHit(r, _cosine(vector, r.embedding)) for r in related]
        decision = decide(fact, hits)
        merge_into = decision.merge_into or near_duplicate(fact, hits, self._policy.merge_threshold)
        if merge_into is not None:
            stated = next(int(r.metadata.get(STATED, 1)) for r in related if r.id == merge_into)
            self._store.update_metadata({merge_into: {STATED: stated + 1, SAID: fact.said}})
            return merge_into
        record_id = new_id(MemoryKind.FACT)
        extra: dict[str, MetadataValue] = {
            STATUS: ACTIVE, SUBJECT: fact.subject, SLOT: fact.slot.value, TOPIC: fact.topic,
            VALUE_KEY: fact.value_key, SAID: fact.said, STATED: 1, SUPERSEDES: ",".join(decision.supersede),
            **features_metadata(fact_features(fact.said, fact.subject, fact.slot.value, fact.value_key),
                                vector, wording),
            **self._second_entry(fact.said),
        }
        metadata = MemoryMetadata(session, MemoryKind.FACT, now, intent, extra=extra)
        self._store.upsert([MemoryRecord(record_id, fact.text, vector, metadata.to_metadata())])
        # The old value stays as history ("show" lists it) but is never recalled again.
        self._store.update_metadata({old: {STATUS: SUPERSEDED, SUPERSEDED_BY: record_id}
                                     for old in decision.supersede})
        return record_id

    def _second_entry(self, said: str) -> dict[str, MetadataValue]:
        return self._second.entries([said])[0] if self._second is not None else {}

    def _exchange(self, recollection: Recollection, reply: str, session: str, intent: Intent | None,
                  turn_id: str | int | None, now: float) -> str:
        text = exchange_text(recollection.message, reply)
        # The same question asked before: its exchange is the message's nearest (stored under the
        # message's own vector). Looked up here, in the background, not during recall.
        nearby = self._store.nearest(recollection.vector, _REPEAT_SEARCH)
        repeat = next((h for h in nearby if h.record.metadata.get(KIND) == MemoryKind.EXCHANGE.value
                       and h.score >= self._policy.merge_threshold), None)
        said = recollection.features or features(recollection.message)
        extra: dict[str, MetadataValue] = {
            STATUS: ACTIVE, STATED: 1, TURN: "" if turn_id is None else str(turn_id),
            **features_metadata(said, recollection.vector, recollection.wording),
            **self._second_entry(recollection.message)}
        metadata = MemoryMetadata(session, MemoryKind.EXCHANGE, now, intent, extra=extra)
        record_id = new_id(MemoryKind.EXCHANGE)
        if repeat is not None:
            # The same question again: the newer answer replaces the old one under its id, keeping
            # how often it was recalled, so repeats never pile up.
            old = MemoryMetadata.from_metadata(repeat.record.metadata)
            stated = int(repeat.record.metadata.get(STATED, 1)) + 1
            metadata = attrs.evolve(metadata, recall_count=old.recall_count,
                                    last_recalled=max(old.last_recalled, now),
                                    extra={**extra, STATED: stated})
            record_id = repeat.record.id
        self._store.upsert([MemoryRecord(record_id, text, recollection.vector, metadata.to_metadata())])
        return record_id


@attrs.frozen(slots=True)
class LongTermMemory:
    """What a chat turn calls: recall before generating; remember after the turn is stored, in
    the background (``writes``), flushed before the next recall."""

    recall: RecallMemory
    remember: RememberTurn
    writes: BackgroundWrites = attrs.field(factory=BackgroundWrites)
