"""Memory writes off the answer's path: one background thread, in order, flushed before a recall.

Chroma's embedded writes take tens of milliseconds on a busy machine (an upsert ~50 ms, a metadata
update ~30 ms), far over a chat turn's overhead budget. The turn hands them to this writer and
answers at once; the next recall waits for them, so what was said is always recalled after it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from evotr.domain.errors import EvoTrError

_log = logging.getLogger(__name__)


def leave_signals_to_the_main_thread() -> None:
    """Block Ctrl-C and SIGTERM in the writer thread (and the native threads it starts, e.g. Chroma's).

    A process-directed signal may be delivered to any thread that does not block it; one taken by
    this thread would never wake the main thread waiting in input(), and Ctrl-C would be lost.
    """
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


class BackgroundWrites:
    """Runs submitted writes one at a time; ``flush`` waits for all of them.

    The worker thread starts with the first write (never at construction). Python joins it at
    exit, so a one-shot `evotr ask` still stores what it learnt. A failing write is logged: the
    answer it belongs to was already given and stored.
    """

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()

    def submit(self, write: Callable[[], object]) -> None:
        """Queue ``write`` after every earlier one."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evotr-memory",
                                                    initializer=leave_signals_to_the_main_thread)
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(self._executor.submit(self._run, write))

    def flush(self) -> None:
        """Wait until every queued write has finished."""
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    @staticmethod
    def _run(write: Callable[[], object]) -> None:
        try:
            write()
        except EvoTrError as error:
            _log.warning("long-term memory: this turn was not remembered: %s", error)
        except Exception:  # a background thread has no caller to raise to; say what broke
            _log.exception("long-term memory: this turn was not remembered")
