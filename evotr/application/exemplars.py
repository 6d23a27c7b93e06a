"""Use cases of the dynamic prompt: verdicts make exemplars; each message gets its few-shot turns.

Exemplars live in their own collection (the container's ``models.exemplar_store``), one record
per judged turn: the question is the record's text and vector, the approved or corrected answer
its metadata. Picks go through an :class:`ExemplarCache` keyed by intent and normalised message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import attrs

from evotr.domain.conversation import ExchangeTurn
from evotr.domain.exemplar_cache import CacheStats, ExemplarCache
from evotr.domain.exemplars import (
    ANSWER,
    VERDICT,
    Exemplar,
    ExemplarPolicy,
    exemplar_answer,
    exemplar_id,
    pick,
)
from evotr.domain.feedback import Feedback
from evotr.domain.intents import Intent
from evotr.domain.memory import INTENT, MemoryKind, MemoryMetadata, MemoryRecord
from evotr.domain.relevance.letters import restored
from evotr.domain.turns import TurnRecord
from evotr.ports.embedder import Embedder
from evotr.ports.vector_store import VectorStore


@attrs.frozen(slots=True)
class FewShot:
    """The exemplars one message got, and whether the cache answered."""

    exemplars: tuple[Exemplar, ...] = ()
    cache_hit: bool = False

    @property
    def turns(self) -> tuple[ExchangeTurn, ...]:
        """The exemplars as user/assistant pairs, best first."""
        return tuple(e.turn() for e in self.exemplars)

    @property
    def ids(self) -> tuple[str, ...]:
        """The exemplar ids, best first."""
        return tuple(e.id for e in self.exemplars)


class RecallExemplars:
    """The ``k`` most similar exemplars of the routed intent, through the cache."""

    def __init__(self, store: VectorStore, embedder: Embedder, cache: ExemplarCache,
                 policy: ExemplarPolicy, sync: Callable[[], int] | None = None) -> None:
        self._store = store
        self._embedder = embedder
        self._cache = cache
        self._policy = policy
        # Applies verdicts stored since the last look (exemplar_sync.py), before any pick.
        self._sync = sync

    @property
    def stats(self) -> CacheStats:
        """The cache's hits and misses in this process."""
        return self._cache.stats

    def execute(self, intent: Intent, message: str, vector: Sequence[float] | None = None) -> FewShot:
        """Few-shot turns for ``message``; ``vector`` is its embedding when the turn already has one
        (long-term memory recall made it), so the message is never embedded twice."""
        if self._policy.k == 0:
            return FewShot()
        if self._sync is not None:
            self._sync()
        cached = self._cache.get(intent, message)
        if cached is not None:
            return FewShot(cached, cache_hit=True)
        if self._cache.known_empty(intent):
            return FewShot()
        if vector is None:
            vector = self._embedder.embed([restored(message)])[0]  # as recall embeds it
        # Filtered by intent in the store: exemplars of other intents must not take the k places.
        hits = self._store.query(vector, self._policy.k, where={INTENT: intent.value})
        if not hits:
            self._cache.mark_empty(intent)
        chosen = pick(hits, intent, self._policy)
        self._cache.put(intent, message, chosen)
        return FewShot(chosen)


class LearnExemplar:
    """After a verdict: store, replace or remove the turn's exemplar; invalidate the cache."""

    def __init__(self, store: VectorStore, embedder: Embedder, cache: ExemplarCache,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._embedder = embedder
        self._cache = cache
        self._clock = clock

    def execute(self, turn: TurnRecord, feedback: Feedback) -> str | None:
        """The exemplar id written, or None when the verdict leaves the turn without one.

        The exemplar's intent is the one a correction names (the message was misrouted), else
        the turn's routed intent.
        """
        record_id = exemplar_id(str(turn.id))
        previous = self._store.get([record_id])
        # The intents whose picks may now be stale: the old exemplar's and the new one's.
        stale = {str(r.metadata.get(INTENT)) for r in previous}
        answer = exemplar_answer(feedback.kind, turn.reply, feedback.correction)
        written = None
        if answer is None:
            if previous:
                self._store.delete([record_id])
        else:
            intent = feedback.intent or turn.intent
            stale.add(intent.value)
            # The shared embedder's cache usually holds the question already (its chat turn).
            vector = self._embedder.embed([restored(turn.prompt)])[0]
            metadata = MemoryMetadata(session=turn.session_id, kind=MemoryKind.EXEMPLAR, time=self._clock(),
                                      intent=intent,
                                      extra={ANSWER: answer, VERDICT: feedback.kind.value})
            self._store.upsert([MemoryRecord(record_id, turn.prompt, vector, metadata.to_metadata())])
            written = record_id
        for value in stale:
            if value in {i.value for i in Intent}:  # a record written without one has "None"
                self._cache.invalidate(Intent(value))
        return written
