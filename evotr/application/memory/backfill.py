"""Use case: give memories written before recall's wording numbers existed (or under another
lexicon) those numbers, a page at a time, in the background writer.

Recall ranks a candidate by the mix of its cosine to the message and to the expansion only when the
memory carries its closeness to the kinds' wording (domain/relevance/wording.py); one without
falls back to the expansion's cosine alone, so in an older store the old and the new memories would
be ranked on two different scales. Each remembered turn therefore also fills in one page of older
records (their vectors are read once), until a pass over the store finds nothing left to do; a new
process starts a new pass, so records skipped by a page boundary (an eviction shifts the pages) are
caught then.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from evotr.domain.memory import MetadataValue
from evotr.domain.relevance.wording import WORDING_KEY, decode_wording, encode_wording
from evotr.ports.vector_store import VectorStore

PAGE = 50  # records read per remembered turn: <= ~60 ms of background work at ~1 ms a record


class WordingBackfill:
    """Fills in the wording numbers of older records, one page per :meth:`step`."""

    def __init__(self, store: VectorStore, page: int = PAGE) -> None:
        self._store = store
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
                if decode_wording(record.metadata.get(WORDING_KEY)) is not None or not record.embedding:
                    continue
                value = encode_wording(record.embedding, wording)
                if value is not None:
                    updates[record.id] = {WORDING_KEY: value}
            if updates:
                self._store.update_metadata(updates)
            return len(updates)
