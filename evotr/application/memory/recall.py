"""Use case: before a turn, find what long-term memory knows that bears on the message."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence

import attrs

from evotr.application.memory.ranking import BREADTH, HybridRanking
from evotr.application.memory.second_opinion import SecondOpinion
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
from evotr.domain.relevance.expansion import PHRASES, kinds_pull, moved_with_length
from evotr.domain.relevance.features import TextFeatures, features
from evotr.domain.relevance.letters import restored
from evotr.domain.relevance.wording import Direction
from evotr.ports.embedder import Embedder
from evotr.ports.query_map import QueryMap
from evotr.ports.vector_store import VectorStore

ACTIVE_FACTS: Mapping[str, MetadataValue] = {KIND: MemoryKind.FACT.value, STATUS: ACTIVE}


@attrs.frozen(slots=True)
class Recollection:
    """What recall found for one message, and what remembering it afterwards will reuse.

    ``vector`` is the message's embedding and ``facts`` pairs each extracted fact with its own, so
    the turn embeds once (one batched call) however much it stores. Both are empty where recall
    searched without the plain vector (a query tower): :meth:`complete` makes it after the turn.
    """

    message: str
    vector: tuple[float, ...]
    facts: tuple[tuple[Fact, tuple[float, ...]], ...]
    block: str
    used: tuple[Recalled, ...]
    # The recall bookkeeping (recall_count, last_recalled of what was used), written with the rest.
    recalls: Mapping[str, Mapping[str, MetadataValue]] = attrs.field(factory=dict)
    # The message's relevance features: stored with its exchange, so recall never reworks them.
    features: TextFeatures | None = None
    # The kinds' wording vectors (kind → vector): the writer stores each memory's closeness to
    # them (domain/relevance/wording.py); None before any was embedded.
    wording: Mapping[str, list[float]] | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        """The ids of the memories put into the prompt, in prompt order."""
        return tuple(r.id for r in self.used)

    def complete(self, embedder: Embedder) -> Recollection:
        """This recollection with the message's plain vector (and its facts' where they were
        said as the whole message), embedded now if recall left it out (a query map that reads
        the words); itself when nothing is missing."""
        if self.vector:
            return self
        vector = tuple(embedder.embed([restored(self.message)])[0])
        return attrs.evolve(self, vector=vector, facts=tuple((f, v or vector) for f, v in self.facts))


@functools.lru_cache(maxsize=256)
def prepare(message: str) -> tuple[TextFeatures, tuple[Fact, ...], tuple[str, ...]]:
    """The message's features, its facts and the clauses they were said in (besides the
    message). Cached: the router asks first (:func:`texts_to_embed`), recall next."""
    facts = tuple(extract_facts(message))
    return features(message), facts, tuple(dict.fromkeys(f.said for f in facts if f.said != message))


def texts_to_embed(message: str, plain: bool = True) -> list[str]:
    """Every text recall embeds for ``message``, in its order: the message and the clauses its
    facts were said in, each typed without Turkish letters with them put back (letters.py:
    searched and stored so; the record's text stays as typed). The router embeds them in its own
    batched call, so a turn makes one model call. ``plain=False``: the clauses alone (a query map
    that reads the words searches without the message's plain vector; it is made after the turn)."""
    clauses = [restored(said) for said in prepare(message)[2]]
    return [restored(message), *clauses] if plain else clauses


class RecallMemory:
    """Extracts the message's facts, embeds once, and picks memories for the system prompt."""

    def __init__(self, store: VectorStore, embedder: Embedder, policy: MemoryPolicy,
                 clock: Callable[[], float] = time.time, ranking: HybridRanking | None = None,
                 also_embed: Callable[[str], Sequence[str]] | None = None,
                 query_map: QueryMap | None = None, second: SecondOpinion | None = None) -> None:
        self._store = store
        # Asked only when the ranking is unsure of its first five (second_opinion.py).
        self._second = second
        # Searches go along the message's vector moved by this map (questions are worded unlike
        # the facts they ask about; ports/query_map.py); what is stored keeps the plain vector.
        self._query_map = query_map
        # The texts the chat turn's router embeds for the message besides these (its folded
        # spelling), put in the same batched call: recall starts first on its worker thread,
        # and two model calls at once on a 2-core machine cost ~0.6 ms more a turn (paired).
        self._also_embed = also_embed
        self._embedder = embedder
        self._policy = policy
        self._clock = clock
        self._ranking = ranking or HybridRanking(store)
        self._phrases: dict[str, list[float]] | None = None
        # The kinds' pull per set of kinds a message names (a few dozen sets in practice).
        self._pulls: dict[tuple[str, ...], tuple[float, ...] | None] = {}

    def wording(self) -> dict[str, list[float]]:
        """The kinds' wording vectors (embedded once, with the first message, or here)."""
        if self._phrases is None:
            kinds = sorted(PHRASES)
            self._phrases = dict(zip(kinds, self._embedder.embed([PHRASES[k] for k in kinds]), strict=True))
        return self._phrases

    def _search(self, message: str, breadth: int | None = None,
                ) -> tuple[TextFeatures, list[list[float]], list[MemoryHit], Direction | None]:
        """The message's features, the embeddings of :func:`texts_to_embed` (the message's own
        empty when a query tower searched), the store's candidates and the direction they were
        searched along; one model call (with a tower: the tower's, and a plain one only for the
        clauses of facts or the first message's wording) and one store call."""
        question = prepare(message)[0]
        texts = texts_to_embed(message)
        kinds = sorted(PHRASES) if self._phrases is None else []
        also = list(self._also_embed(message)) if self._also_embed else []
        # A map that reads the words (the query tower) embeds the message itself, in one pass with
        # the router's spellings (the router reads its vectors then): the turn needs no plain
        # vector of the message, which is only stored, so the background writer makes it
        # (Recollection.complete). Otherwise one plain call: the message, its clauses, the
        # router's spellings, and the kinds' wording (once, with the first message).
        reader = self._query_map if self._query_map is not None and self._query_map.reads_text else None
        deferred = reader is not None
        query = None if reader is None else reader.adapt([], texts[0], also)
        batch = list(dict.fromkeys([*texts_to_embed(message, plain=not deferred),
                                    *(PHRASES[k] for k in kinds), *([] if deferred else also)]))
        embedded = dict(zip(batch, self._embedder.embed(batch), strict=True)) if batch else {}
        if kinds:
            self._phrases = {k: embedded[PHRASES[k]] for k in kinds}
        # [] for the message's vector when it was left out.
        vectors = [embedded.get(texts[0], []), *(embedded[t] for t in texts[1:])]
        if query is None:
            query = vectors[0] if self._query_map is None else self._query_map.adapt(vectors[0], texts[0])
        named, pull = self._pull(question)
        expanded, length = moved_with_length(query, pull)
        direction = None if expanded is None else Direction(named, length, math.hypot(*query))
        # Room for k facts and 2k exchanges at least; no metadata filter (it makes Chroma's
        # search several times slower): status and kind are sorted out here.
        breadth = breadth or max(BREADTH, 4 * self._policy.recall_k + 1)
        found = self._ranking.search(query if expanded is None else expanded, breadth, question.terms)
        return question, vectors, found, direction

    def _pull(self, question: TextFeatures) -> tuple[tuple[str, ...], tuple[float, ...] | None]:
        phrases = self._phrases or {}
        kinds = tuple(kind for kind in sorted(question.concepts) if kind in phrases)
        if kinds not in self._pulls:
            if len(self._pulls) >= 4_096:
                self._pulls.clear()
            self._pulls[kinds] = kinds_pull(kinds, phrases)
        return kinds, self._pulls[kinds]

    def ranked(self, message: str, breadth: int | None = None) -> list[MemoryHit]:
        """Every candidate for ``message``, best first by the hybrid score (what recall picks
        from); ``breadth``: nearest records per search (default: recall's)."""
        question, _vectors, found, direction = self._search(message, breadth)
        return self._rank(message, question, found, direction)

    def _rank(self, message: str, question: TextFeatures, found: list[MemoryHit],
              direction: Direction | None) -> list[MemoryHit]:
        """The hybrid order; when unsure, its first ``top`` ordered again among themselves with
        the second embedder's cosines mixed in (second_opinion.py)."""
        ranked = self._ranking.rank(question, found, direction)
        if self._second is None or not self._second.wanted(ranked):
            return ranked
        searched = {h.record.id: h for h in found}
        top = self._second.top
        first = [searched[h.record.id] for h in ranked[:top]]
        cosines = self._second.cosines(message, first)
        if not cosines:
            return ranked
        return self._ranking.rank(question, first, direction, cosines, self._second.share) + ranked[top:]

    def execute(self, session_id: str, message: str) -> Recollection:
        """The memory block for ``message`` (empty when nothing relevant) and the recall bookkeeping."""
        question, vectors, found, direction = self._search(message)
        _question, facts, said = prepare(message)
        by_text = {message: vectors[0], **dict(zip(said, vectors[1:1 + len(said)], strict=True))}
        pairs = tuple((f, tuple(by_text[f.said])) for f in facts)
        if not found:
            return Recollection(message, tuple(vectors[0]), pairs, "", (), features=question,
                                wording=self._phrases)
        asked = self._asked(message)
        ranked = self._rank(message, question, found, direction)
        fact_hits = [h for h in ranked if h.record.metadata.get(KIND) == MemoryKind.FACT.value
                     and h.record.metadata.get(STATUS, ACTIVE) == ACTIVE]
        exchange_hits = [h for h in ranked if h.record.metadata.get(KIND) == MemoryKind.EXCHANGE.value]
        candidates = select(asked, fact_hits, exchange_hits, session_id, self._policy)
        block, used = render(candidates, self._policy.recall_chars)
        recalls = self._recalls(used, [*asked, *(h.record for h in found)])
        return Recollection(message, tuple(vectors[0]), pairs, block, tuple(used), recalls=recalls,
                            features=question, wording=self._phrases)

    def _asked(self, message: str) -> list[MemoryRecord]:
        found: dict[str, MemoryRecord] = {}
        for subject, slot in sorted(asked_about(message), key=lambda a: (a[0] != USER, a[0], str(a[1]))):
            # Only the selective keys go to the store: "status: active" and "kind: fact" match
            # nearly every record, and Chroma's filter on them took 13-18 ms at 10,000 memories
            # (subject and slot alone ~3 ms). Only facts have a subject; status is checked here.
            where: dict[str, MetadataValue] = {SUBJECT: subject}
            where.update({SLOT: slot.value} if slot is not None else {KIND: MemoryKind.FACT.value})
            active = [r for r in self._store.find(where) if r.metadata.get(STATUS, ACTIVE) == ACTIVE
                      and r.metadata.get(KIND) == MemoryKind.FACT.value]
            for record in active[:self._policy.recall_k]:
                found.setdefault(record.id, record)
        return list(found.values())

    def _recalls(self, used: list[Recalled],
                 records: list[MemoryRecord]) -> dict[str, dict[str, MetadataValue]]:
        now = self._clock()
        counts = {r.id: int(r.metadata.get(RECALL_COUNT, 0)) for r in records}
        return {r.id: {RECALL_COUNT: counts.get(r.id, 0) + 1, LAST_RECALLED: now} for r in used}
