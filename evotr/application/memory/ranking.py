"""How recall and `evotr memory search` find and order memories: two searches, one hybrid rank.

1. Candidates: the store's BREADTH nearest records to the message's expansion (its vector moved towards
   how memories of its kinds are worded; domain/relevance/expansion.py), in one store call
   that returns no vectors.
2. Order: their similarity to the expansion plus what the words say (domain/relevance/rank.py).

Measured on the development sets and in benchmarks/bench_memory.py: one search along the
expansion found about as many right memories as two searches (message and expansion) of 21
each, and ranking by similarity to the expansion cost ~1 point of Recall@5 against fetching
every candidate's vector to score it against the message, which took ~2 ms a turn (Chroma reads
each returned record at ~0.15 ms, its vector at ~0.07 ms more).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from evotr.domain.facts import USER, Slot
from evotr.domain.memory import KIND, MemoryHit, MemoryKind, MemoryRecord
from evotr.domain.memory_rules import SAID, SLOT, SUBJECT, VALUE_KEY, exchange_message
from evotr.domain.relevance.encoding import FEATURES_KEY, decode, encode
from evotr.domain.relevance.features import TextFeatures, about, features
from evotr.domain.relevance.rank import RankWeights, rank
from evotr.domain.relevance.second_opinion import SHARE, mixed
from evotr.domain.relevance.thesaurus import LINKS_KEY, decode_links, encode_links
from evotr.domain.relevance.wording import WORDING_KEY, Direction, decode_wording, encode_wording
from evotr.ports.vector_store import VectorStore

# Nearest records asked for: the hybrid score re-ranks them, so a memory it can lift must be
# among them. Recall@5 on the development sets (dev / dev2 / reported) rose with the breadth,
# 0.869/0.859/0.911 at 15, 0.929/0.922/0.938 at 30, 0.940/0.938/0.946 at 50, 0.952/0.938/0.955
# at 80, with every right memory among the 80. It was 30 while each returned record cost a
# Chroma read (~0.15 ms); the embedded store now keeps what it read (record_cache.py), and 80
# cost ~1 ms a turn more than 30 (the search ~0.5 ms, ranking ~0.5 ms after rank.py's prefix
# index), measured on the loaded 2-core VM.
BREADTH = 80


def user_words(record: MemoryRecord) -> str:
    """What the user said that a memory keeps: a fact's clause, an exchange's message."""
    said = record.metadata.get(SAID)
    if record.metadata.get(KIND) == MemoryKind.FACT.value and isinstance(said, str) and said.strip():
        return said
    return exchange_message(record.text) or record.text


def fact_features(said: str, subject: str, slot: str, value_key: str) -> TextFeatures:
    """The features a fact is stored with: its clause's, told whom it is about and, for a name,
    the name ("Eşimin adı Ayşe": the spouse is Ayşe)."""
    return about(features(said), subject, value_key if slot == Slot.NAME.value else None)


def stored_features(record: MemoryRecord) -> TextFeatures:
    """A record's features from its metadata, or worked out from its words (older records)."""
    found = decode(record.metadata.get(FEATURES_KEY))
    if found is not None:
        return found
    meta = record.metadata
    if meta.get(KIND) == MemoryKind.FACT.value:
        return fact_features(user_words(record), str(meta.get(SUBJECT, USER)), str(meta.get(SLOT, "")),
                             str(meta.get(VALUE_KEY, "")))
    return features(user_words(record))


def features_metadata(text_features: TextFeatures, vector: Sequence[float] | None = None,
                      wording: Mapping[str, Sequence[float]] | None = None) -> dict[str, str]:
    """The metadata entries a writer adds so that recall need not work the features (and the
    thesaurus links of their terms) out again, and, given the memory's ``vector`` and the kinds'
    ``wording`` vectors, its closeness to each
    kind's wording (domain/relevance/wording.py: how recall tells its cosine to the message)."""
    entries = {FEATURES_KEY: encode(text_features),
               LINKS_KEY: encode_links(text_features.terms, text_features.marks)}
    closeness = encode_wording(vector, wording) if vector is not None and wording else None
    if closeness is not None:
        entries[WORDING_KEY] = closeness
    return entries


class HybridRanking:
    """Searches the store for a message's candidates and orders them by the hybrid score."""

    def __init__(self, store: VectorStore, weights: RankWeights | None = None, breadth: int = BREADTH,
                 cache_size: int = 4_096) -> None:
        self._store = store
        self._weights = weights or RankWeights()
        self._breadth = breadth
        # Features worked out for records stored without them, by (id, text): old stores.
        self._cache: OrderedDict[tuple[str, str], TextFeatures] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def search(self, vector: Sequence[float], breadth: int | None = None,
               terms: Sequence[str] = ()) -> list[MemoryHit]:
        """The records nearest ``vector`` (the message's, or its expansion), and those saying a
        rare one of the message's ``terms``, without vectors."""
        return self._store.nearest(vector, breadth or self._breadth, terms)

    def rank(self, question: TextFeatures, hits: Sequence[MemoryHit],
             direction: Direction | None = None, second: Mapping[str, float] | None = None,
             share: float = SHARE) -> list[MemoryHit]:
        """The hits, best first, each with its hybrid score; ``direction``: the expansion the
        hits were searched along (their scores are cosines to it), whose share is then mixed
        with their cosine to the message (wording.py); ``second``: a second embedder's cosines
        by record id, mixed in with ``share`` where given (second_opinion.py)."""
        scores = [h.score for h in hits] if direction is None else [
            direction.mixed(h.score, decode_wording(h.record.metadata.get(WORDING_KEY))) for h in hits]
        if second:
            scores = [mixed(s, second[h.record.id], share) if h.record.id in second else s
                      for h, s in zip(hits, scores, strict=True)]
        candidates = [(h, score, self._features(h.record)) for h, score in zip(hits, scores, strict=True)]
        links = [decode_links(h.record.metadata.get(LINKS_KEY)) for h in hits]
        ranked = rank(question, candidates, self._weights, links)
        return [MemoryHit(hit.record, score) for hit, score in ranked]

    def _features(self, record: MemoryRecord) -> TextFeatures:
        if FEATURES_KEY in record.metadata:
            found = decode(record.metadata[FEATURES_KEY])
            if found is not None:
                return found
        key = (record.id, record.text)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        computed = stored_features(record)
        with self._lock:
            self._cache[key] = computed
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return computed
