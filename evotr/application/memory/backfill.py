"""Use case: give memories written before recall's wording numbers existed (or under another
lexicon) those numbers, and memories whose stored features or thesaurus links an older version
wrote new ones, a page at a time, in the background writer.

Recall ranks a candidate by the mix of its cosine to the message and to the expansion only when the
memory carries its closeness to the kinds' wording (domain/relevance/wording.py); one without
falls back to the expansion's cosine alone, so in an older store the old and the new memories would
be ranked on two different scales. Each remembered turn therefore also fills in one page of older
records (their vectors are read once), until a pass over the store finds nothing left to do; a new
process starts a new pass, so records skipped by a page boundary (an eviction shifts the pages) are
caught then.

Stale features and links (encoding.py's VERSION or the thesaurus' digest changed) would otherwise be
worked out again for every candidate of every turn, in the answer's path (~0.1-0.3 ms a record,
kept only in a bounded cache), in every new process.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from evotr.application.memory.ranking import features_metadata, stored_features, user_words
from evotr.application.memory.second_opinion import SecondOpinion, missing
from evotr.domain.memory import MemoryRecord, MetadataValue
from evotr.domain.relevance.encoding import FEATURES_KEY, decode
from evotr.domain.relevance.thesaurus import LINKS_KEY, decode_links
from evotr.domain.relevance.wording import WORDING_KEY, decode_wording, encode_wording
from evotr.ports.vector_store import VectorStore

PAGE = 50  # records read per remembered turn: <= ~60 ms of background work at ~1 ms a record
# (a page's second vectors, when memory.second_opinion is on, ~0.3 s more the first pass)


class RecordBackfill:
    """Fills in the wording numbers, features and links of older records, one page per :meth:`step`."""

    def __init__(self, store: VectorStore, page: int = PAGE, second: SecondOpinion | None = None) -> None:
        self._store = store
        # Records stored before the second embedder was on get its vectors too (second_opinion.py).
        self._second = second
        self._page = page
        self._offset = 0
        self._done = False
        self._lock = threading.Lock()

    @property
    def done(self) -> bool:
        """Whether this process's pass has reached the end of the store."""
        return self._done

    def step(self, wording: Mapping[str, Sequence[float]] | None) -> int:
        """Give the next page's records that lack valid numbers theirs; returns how many were
        updated. Nothing happens once the pass is done or while the kinds' wording vectors are
        not known yet (``wording`` None: no message was embedded yet)."""
        if not wording:
            return 0
        with self._lock:
            if self._done:
                return 0
            records = self._store.find(None, limit=self._page, offset=self._offset)
            self._offset += len(records)
            self._done = len(records) < self._page
            updates: dict[str, Mapping[str, MetadataValue]] = {}
            for record in records:
                entries = _ranking_entries(record)
                if decode_wording(record.metadata.get(WORDING_KEY)) is None and record.embedding:
                    value = encode_wording(record.embedding, wording)
                    if value is not None:
                        entries[WORDING_KEY] = value
                if entries:
                    updates[record.id] = entries
            self._add_second(records, updates)
            if updates:
                self._store.update_metadata(updates)
            return len(updates)

    def _add_second(self, records: Sequence[MemoryRecord],
                    updates: dict[str, Mapping[str, MetadataValue]]) -> None:
        """The second embedder's vectors of the page's records that lack one (one call)."""
        if self._second is None:
            return
        lacking = [r for r in records if missing(r.metadata)]
        entries = self._second.entries([user_words(r) for r in lacking])
        for record, entry in zip(lacking, entries, strict=True):
            updates[record.id] = {**updates.get(record.id, {}), **entry}


def _ranking_entries(record: MemoryRecord) -> dict[str, MetadataValue]:
    """The features and links a record should carry, when what it carries is missing or stale."""
    meta = record.metadata
    if decode(meta.get(FEATURES_KEY)) is not None and decode_links(meta.get(LINKS_KEY)) is not None:
        return {}
    return dict(features_metadata(stored_features(record)))
