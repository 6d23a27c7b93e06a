"""Use case: bring the few-shot exemplar index up to date with the verdicts in the feedback DB.

Why: a verdict is stored in SQLite by whichever process the user judged in, but making it an
exemplar needs the sentence embedder and the Chroma store (~3.5 s and ~240 MB to load in a fresh
process). A one-shot `evotr feedback add ID good` therefore only stores the verdict; the next
process that answers (a chat turn, `evotr ask`, `evotr serve`) applies every verdict stored
since the last sync, before it picks its few-shot turns. A process that judges and answers
(the chat REPL's /good, the web page) applies its verdict at once, so the very next question
sees it, as before.

The feedback DB keeps a mark: the last feedback row the exemplar index reflects. It is shared by
every process of the home, so one applies what another stored; each process also remembers
how far it has looked, so a verdict another process applied still empties this process's
exemplar cache (its picks may be stale).
"""

from __future__ import annotations

import threading

from evotr.application.exemplars import LearnExemplar
from evotr.domain.exemplar_cache import ExemplarCache
from evotr.domain.intents import Intent
from evotr.ports.feedback_repository import FeedbackRepository
from evotr.ports.vector_store import VectorStore

MARK = "exemplars"


class SyncExemplars:
    """Applies the verdicts stored since the index's mark; one per container (it keeps state)."""

    def __init__(self, repository: FeedbackRepository, learn: LearnExemplar, store: VectorStore,
                 cache: ExemplarCache) -> None:
        self._repository = repository
        self._learn = learn
        self._store = store
        self._cache = cache
        self._seen: int | None = None  # the newest feedback row this process has accounted for
        self._lock = threading.Lock()

    def execute(self) -> int:
        """Apply what is pending; return how many turns' exemplars were written or removed.

        When nothing was judged since the last call it costs one indexed SQLite read.
        """
        latest = self._repository.latest_feedback_id()
        if latest == self._seen:
            return 0
        with self._lock:
            mark = self._repository.sync_mark(MARK)
            if self._seen is None:
                mark = self._start(mark)
            elif mark > self._seen:
                # Another process applied verdicts this one has not looked at: the cached picks
                # of any intent may have lost or gained an exemplar.
                for intent in Intent:
                    self._cache.invalidate(intent)
            pending = self._repository.verdicts_after(mark) if latest > mark else []
            for turn, verdict in pending:
                self._learn.execute(turn, verdict)
            # Stored after the writes: a failure midway leaves them pending (applying one twice
            # is harmless: an exemplar is upserted or deleted by the turn's id).
            if latest > mark:
                self._repository.advance_sync_mark(MARK, latest)
            self._seen = latest
            return len(pending)

    def _start(self, mark: int) -> int:
        """The mark to apply from, first time in this process: from the beginning when the index
        is empty but the mark says otherwise (its Chroma folder was deleted or replaced)."""
        if mark > 0 and self._store.count() == 0:
            return 0
        return mark
