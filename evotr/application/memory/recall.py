"""Use case: before a turn, find what long-term memory knows that bears on the message."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import attrs

from evotr.domain.facts import USER, Fact, asked_about, extract_facts
from evotr.domain.memory import (
    KIND,
    LAST_RECALLED,
    RECALL_COUNT,
    MemoryHit,
    MemoryKind,
    MemoryRecord,
    MetadataValue,
)
from evotr.domain.memory_rules import ACTIVE, SLOT, STATUS, SUBJECT, MemoryPolicy, Recalled, render, select
from evotr.ports.embedder import Embedder
from evotr.ports.vector_store import VectorStore

ACTIVE_FACTS: Mapping[str, MetadataValue] = {KIND: MemoryKind.FACT.value, STATUS: ACTIVE}


@attrs.frozen(slots=True)
class Recollection:
    """What recall found for one message, and what remembering it afterwards will reuse.

    ``vector`` is the message's embedding and ``facts`` pairs each extracted fact with its own, so
    the turn embeds once (one batched call) however much it stores.
    """

    message: str
    vector: tuple[float, ...]
    facts: tuple[tuple[Fact, tuple[float, ...]], ...]
    block: str
    used: tuple[Recalled, ...]
    exchanges: tuple[MemoryHit, ...] = ()
    # The recall bookkeeping (recall_count, last_recalled of what was used), written with the rest.
    recalls: Mapping[str, Mapping[str, MetadataValue]] = attrs.field(factory=dict)

    @property
    def ids(self) -> tuple[str, ...]:
        """The ids of the memories put into the prompt, in prompt order."""
        return tuple(r.id for r in self.used)


class RecallMemory:
    """Extracts the message's facts, embeds once, and picks memories for the system prompt."""

    def __init__(self, store: VectorStore, embedder: Embedder, policy: MemoryPolicy,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._embedder = embedder
        self._policy = policy
        self._clock = clock

    def execute(self, session_id: str, message: str) -> Recollection:
        """The memory block for ``message`` (empty when nothing relevant) and the recall bookkeeping."""
        facts = extract_facts(message)
        said = list(dict.fromkeys(f.said for f in facts if f.said != message))
        vectors = self._embedder.embed([message, *said])
        by_text = {message: vectors[0], **dict(zip(said, vectors[1:], strict=True))}
        pairs = tuple((f, tuple(by_text[f.said])) for f in facts)
        # One unfiltered query split by kind: a metadata filter makes Chroma's search several
        # times slower, and the facts a message asks about are fetched by slot below. Room for
        # k facts and 2k exchanges plus one, whose best also tells remember whether it is a repeat.
        # (Stores return fewer when they hold fewer: no count() first, it costs a round trip.)
        hits = self._store.query(vectors[0], 4 * self._policy.recall_k + 1)
        if not hits:
            return Recollection(message, tuple(vectors[0]), pairs, "", ())
        asked = self._asked(message)
        fact_hits = [h for h in hits if h.record.metadata.get(KIND) == MemoryKind.FACT.value
                     and h.record.metadata.get(STATUS, ACTIVE) == ACTIVE]
        exchange_hits = [h for h in hits if h.record.metadata.get(KIND) == MemoryKind.EXCHANGE.value]
        candidates = select(asked, fact_hits, exchange_hits, session_id, self._policy)
        block, used = render(candidates, self._policy.recall_chars)
        recalls = self._recalls(used, [*asked, *(h.record for h in hits)])
        return Recollection(message, tuple(vectors[0]), pairs, block, tuple(used), tuple(exchange_hits),
                            recalls)

    def _asked(self, message: str) -> list[MemoryRecord]:
        found: dict[str, MemoryRecord] = {}
        for subject, slot in sorted(asked_about(message), key=lambda a: (a[0] != USER, a[0], str(a[1]))):
            where = {**ACTIVE_FACTS, SUBJECT: subject, **({SLOT: slot.value} if slot is not None else {})}
            for record in self._store.find(where, limit=self._policy.recall_k):
                found.setdefault(record.id, record)
        return list(found.values())

    def _recalls(self, used: list[Recalled],
                 records: list[MemoryRecord]) -> dict[str, dict[str, MetadataValue]]:
        now = self._clock()
        counts = {r.id: int(r.metadata.get(RECALL_COUNT, 0)) for r in records}
        return {r.id: {RECALL_COUNT: counts.get(r.id, 0) + 1, LAST_RECALLED: now} for r in used}
