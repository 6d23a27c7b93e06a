"""Long-term memory recall on a worker thread, running while the chat turn routes the message.

Why: recall does not depend on the route, and most of its time is spent where the GIL is
released (the embedder's matrix products, Chroma's search in Rust); at 10,000 memories it took
~4-5 ms after routing's ~4-5 ms. The shared embedding cache hands a text being embedded by one
thread to the other instead of embedding it twice (infrastructure/embeddings/cache.py). Paired
turns in one process (same message, caches cleared) measured 0.5-1.2 ms less median overhead.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

from evotr.application.memory import LongTermMemory
from evotr.application.memory.recall import Recollection
from evotr.application.memory.writes import leave_signals_to_the_main_thread


class RecallAhead:
    """Starts recalls; the worker threads start with the first one, never at construction."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self, memory: LongTermMemory | None, session_id: str,
              message: str) -> Future[Recollection] | None:
        """``memory.recall.execute(session_id, message)``, running now on a worker thread once
        the last turn's memory writes are done (its facts are recalled from this turn on); None
        without memory."""
        if memory is None:
            return None
        memory.writes.flush()
        with self._lock:
            if self._executor is None:
                # Two: `evotr serve` may run two turns at once; one recall never waits for another.
                self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="evotr-recall",
                                                    initializer=leave_signals_to_the_main_thread)
        return self._executor.submit(memory.recall.execute, session_id, message)

    @staticmethod
    def abandon(pending: Future[Recollection] | None) -> None:
        """The turn failed before using it: wait for it to end (never running into the next
        turn) and drop its result or error (the turn's own error is the one to report)."""
        if pending is not None and not pending.cancel():
            pending.exception()
