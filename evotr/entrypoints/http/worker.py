"""The single generation worker: every model call of the server runs on one thread, in order.

MLX is not thread-safe: one resident model, its LoRA swap state and mlx-lm's generation
stream must not be driven by two threads at once, and interleaving two generations step by
step would only make both slower on a machine whose cores one generation already uses. So
requests queue here (FIFO) and one thread runs them; the event loop only moves their pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

logger = logging.getLogger("evotr.serve")

_END = object()


class QueueFullError(Exception):
    """More requests than ``max_queue`` are waiting or running; ``retry_after`` is a guess in seconds."""

    def __init__(self, depth: int, retry_after: int) -> None:
        super().__init__(f"the server is busy ({depth} requests queued); try again in {retry_after} s")
        self.retry_after = retry_after


# A request's work: called with a check of whether its client is gone, it gives the items.
Work = Callable[[Callable[[], bool]], Iterator[Any]]


class Job:
    """One request's work on the worker; its items come out, in order, on the caller's event loop."""

    def __init__(self, work: Work, loop: asyncio.AbstractEventLoop) -> None:
        self.work = work
        self.enqueued_at = time.perf_counter()
        self.started_at: float | None = None
        self.done = False  # set on the worker thread when the work has ended
        self._loop = loop
        self._items: asyncio.Queue[Any] = asyncio.Queue()
        self._cancelled = threading.Event()

    @property
    def cancelled(self) -> bool:
        """Whether the client went away (the worker stops the work at its next piece)."""
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop the work: the generator is closed before its next piece, so nothing is stored."""
        self._cancelled.set()

    @property
    def queue_ms(self) -> float:
        """How long the job waited for the worker."""
        return ((self.started_at or time.perf_counter()) - self.enqueued_at) * 1000

    def put(self, item: Any) -> None:
        """Called on the worker thread: hand ``item`` to the event loop."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is shutting down
            self._loop.call_soon_threadsafe(self._items.put_nowait, item)

    async def items(self) -> AsyncIterator[Any]:
        """The work's items; an exception it raised is raised here."""
        while True:
            item = await self._items.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


class GenerationWorker:
    """A bounded FIFO of jobs and the one thread that runs them (see the module docstring)."""

    def __init__(self, max_queue: int, warm_up: Callable[[], object] | None = None,
                 on_exit: Callable[[], object] | None = None) -> None:
        self.max_queue = max_queue
        self._warm_up = warm_up
        self._on_exit = on_exit  # last call on the worker thread (MLX: wait for pending work)
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._depth = 0
        self._running = False
        self.served = 0
        self.cancelled = 0
        self._mean_s = 1.0  # running mean of a job's duration, for Retry-After
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run the warm-up (model load) here, then start the thread; a warm-up error is raised here.

        The model loads on the caller's thread, before the worker exists, so the two never
        overlap. Loading on the worker itself would create mlx-lm's generation stream on a
        thread that ends before the process: MLX then aborts at exit ("terminate called
        without an active exception").
        """
        if self._warm_up is not None:
            self._warm_up()
        self._thread = threading.Thread(target=self._loop, name="evotr-generation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Let the running job finish, then end the thread (waiting jobs are dropped)."""
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)

    @property
    def depth(self) -> int:
        """Jobs waiting or running."""
        return self._depth

    def stats(self) -> dict[str, int]:
        """Queue depth and counters for /health."""
        with self._lock:
            running = int(self._running)
            return {"depth": self._depth, "running": running, "waiting": self._depth - running,
                    "max": self.max_queue, "served": self.served, "cancelled": self.cancelled}

    def submit(self, work: Work) -> Job:
        """Queue ``work`` (called on the worker thread with a check of whether the client is gone);
        QueueFullError beyond ``max_queue``."""
        job = Job(work, asyncio.get_running_loop())
        with self._lock:
            if self._depth >= self.max_queue:
                raise QueueFullError(self._depth, min(60, max(1, math.ceil(self._mean_s * self._depth))))
            self._depth += 1
        self._jobs.put(job)
        return job

    def cancel(self, job: Job) -> None:
        """The client is gone: stop ``job`` (counted once)."""
        if not job.cancelled and not job.done:
            job.cancel()
            with self._lock:
                self.cancelled += 1

    def _loop(self) -> None:
        try:
            self._serve_jobs()
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def _serve_jobs(self) -> None:
        while (job := self._jobs.get()) is not None:
            with self._lock:
                self._running = True
            job.started_at = time.perf_counter()
            try:
                self._run(job)
            finally:
                with self._lock:
                    self._running = False
                    self._depth -= 1
                    self.served += 1
                    self._mean_s = 0.8 * self._mean_s + 0.2 * (time.perf_counter() - job.started_at)
                job.done = True
                job.put(_END)

    @staticmethod
    def _run(job: Job) -> None:
        if job.cancelled:
            return
        try:
            # The work is told how to ask whether the client is gone: a reply that ends inside one
            # step (the model's last token) would otherwise be stored before the check below.
            items = job.work(lambda: job.cancelled)
            try:
                # Checked before each step, so a client gone after the last piece still stores
                # nothing: the finally closes the generator before it can store the turn.
                while not job.cancelled:
                    item = next(items, _END)
                    if item is _END:
                        break
                    job.put(item)
                    # Let the event loop take the GIL now and send the piece: otherwise it waits
                    # for the interpreter's 5 ms switch interval while this thread computes.
                    time.sleep(0)
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            job.put(exc)
