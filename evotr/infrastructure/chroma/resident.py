"""An embedded collection's vectors kept in NumPy: an exact cosine search without Chroma's call cost.

Why: at 10,000 memories a chat turn's nearest-80 search through embedded Chroma took ~2.5-4 ms,
most of it the fixed cost of a call into Chroma's Rust runtime (even ``count()`` costs ~2 ms),
while one float32 matrix-vector product over the same 10,000 x 512 vectors and an
argpartition take ~0.3-0.9 ms on the 2-core machine. The search is exact (Chroma's HNSW is
approximate; on stores this small it returns the same ids), cosine distance as Chroma's.

Limits: the product grows with the store (~5 ms at 30,000, ~18-24 ms at 100,000 measured on
the loaded 2-core VM) while HNSW does not, so a collection over :data:`LIMIT` records stays on
Chroma's search (the default memory cap is 10,000). Memory: 2 KiB a record (float32 x 512),
~20 MiB at 10,000. Loading reads every vector from Chroma (~1.1 s at 10,000), so it runs on a
thread of its own, a page of ids at a time, starting with a process's second search (a
one-shot `evotr ask` searches once and never pays for it); until it is done Chroma answers.

Consistency: Chroma stays the durable store. This process's writes are applied here after
Chroma committed them (:meth:`ResidentIndex.put`, :meth:`ResidentIndex.remove`); writes made
while a load runs are journalled and replayed over what the load read (both are idempotent, so
a write the load already saw is harmless). Another process's commit (version.py's epoch) drops
everything (:meth:`ResidentIndex.invalidate`) and the next search loads afresh.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from evotr.domain.relevance.rare_terms import EXTRA, TermIndex

# Above this many records Chroma's HNSW search is the faster one (see the docstring).
LIMIT = 30_000
# Ids read per call while loading: ~0.1 s of Chroma work each, so stopping (exit) waits little.
PAGE = 2_000
# A store found over LIMIT is counted again after this many of our own writes.
RECOUNT_AFTER = 500

_log = logging.getLogger(__name__)
Journal = list[tuple[str, list[str], Any]]
# What the loader reads a page at a time: ids, their vectors, and each one's stored terms.
Page = tuple[list[str], Any, list[tuple[str, ...]]]


class ResidentIndex:
    """Ids and unit-length float32 rows of one collection; thread-safe."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._matrix = np.empty((0, 0), np.float32)
        # Which record says which word (domain/relevance/rare_terms.py), beside the rows.
        self._terms = TermIndex()
        self._ready = False
        # Set while a load runs: our writes meanwhile, replayed over what it read.
        self._journal: Journal | None = None
        # Bumped by invalidate(): a load that began before it is dropped.
        self._era = 0
        self._writes = 0
        self._too_big_at: int | None = None
        self._searches = 0

    @property
    def ready(self) -> bool:
        """True when searches are answered here."""
        return self._ready

    @property
    def loading(self) -> bool:
        """True while a load runs."""
        return self._journal is not None

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, vector: Sequence[float], k: int,
               terms: Sequence[str] = ()) -> tuple[list[str], list[float]] | None:
        """The ``k`` nearest ids and their cosine distances, nearest first, then up to
        :data:`EXTRA` more that say a rare one of ``terms`` (rare_terms.py); None when not loaded."""
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if norm > 0:
            query = query / norm
        with self._lock:
            self._searches += 1
            if not self._ready:
                return None
            n = len(self._ids)
            if n == 0 or k < 1:
                return [], []
            scores = self._matrix[:n] @ query
            top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
            top = top[np.argsort(-scores[top], kind="stable")]
            ids = [self._ids[i] for i in top.tolist()]
            if terms and k < n:
                near = set(ids)
                extra = [self._rows[i] for i in self._terms.saying(terms) if i not in near][:EXTRA]
                if extra:
                    top = np.concatenate([top, np.asarray(extra, dtype=top.dtype)])
                    ids.extend(self._ids[i] for i in extra)
        return ids, (1.0 - scores[top].astype(np.float64)).tolist()

    def wants_load(self) -> bool:
        """True when a load should start now: not loaded, none running, a second search seen,
        and not known to be over the limit (recounted after :data:`RECOUNT_AFTER` writes)."""
        with self._lock:
            return (not self._ready and self._journal is None and self._searches >= 2
                    and (self._too_big_at is None or self._writes - self._too_big_at >= RECOUNT_AFTER))

    def load(self, count: Callable[[], int], ids: Callable[[], list[str]],
             read: Callable[[list[str]], Page], stop: threading.Event) -> bool:
        """Read the collection (``count()``, then every id, then ``read(page)`` -> ids, vectors
        and each record's terms, a page at a time) and start answering searches; False if it was
        over the limit, stopped, invalidated meanwhile or already loading."""
        with self._lock:
            if self._ready or self._journal is not None:
                return False
            self._journal, era = [], self._era
        try:
            if count() > self._limit:
                with self._lock:
                    self._too_big_at = self._writes
                return False
            found: list[str] = []
            parts = []
            said: list[tuple[str, ...]] = []
            for page in _pages(ids(), PAGE):
                if stop.is_set():
                    return False
                got, vectors, page_terms = read(page)
                found.extend(got)
                said.extend(page_terms)
                parts.append(_unit_rows(vectors))
            with self._lock:
                if era != self._era:
                    return False
                self._install(found, np.concatenate(parts) if parts else np.empty((0, 0), np.float32))
                for record_id, record_terms in zip(found, said, strict=True):
                    self._terms.put(record_id, record_terms)
                for action, written, vectors in self._journal or []:
                    self._apply(action, written, vectors)
                self._ready = len(self._ids) <= self._limit
                if not self._ready:
                    self._too_big_at = self._writes
                    self._install([], np.empty((0, 0), np.float32))
                return self._ready
        finally:
            with self._lock:
                self._journal = None

    def put(self, ids: Sequence[str], vectors: Sequence[Sequence[float]],
            terms: Sequence[Sequence[str]] | None = None) -> None:
        """After Chroma committed an upsert of ours: the same rows here (and each one's terms)."""
        self._write("put", list(ids), _unit_rows(vectors) if len(ids) else None)
        if terms is not None:
            self.retag(dict(zip(ids, terms, strict=True)))

    def retag(self, terms: Mapping[str, Sequence[str]]) -> None:
        """After Chroma committed new features for these records: their terms."""
        self._write("terms", list(terms), [tuple(t) for t in terms.values()])

    def remove(self, ids: Sequence[str]) -> None:
        """After Chroma committed a delete of ours."""
        self._write("remove", list(ids), None)

    def invalidate(self) -> None:
        """Forget everything (another process wrote the store, or a write of ours failed midway)."""
        with self._lock:
            self._era += 1
            self._ready = False
            self._too_big_at = None
            self._install([], np.empty((0, 0), np.float32))

    def _write(self, action: str, ids: list[str], vectors: Any) -> None:
        with self._lock:
            if action != "terms":  # new words for a stored row: not a write that may grow the store
                self._writes += 1
            if self._journal is not None:
                self._journal.append((action, ids, vectors))
            if self._ready:
                self._apply(action, ids, vectors)
                if len(self._ids) > self._limit:
                    self._ready, self._too_big_at = False, self._writes
                    self._install([], np.empty((0, 0), np.float32))

    def _install(self, ids: list[str], matrix: Any) -> None:
        self._terms.clear()
        self._ids = list(ids)
        self._rows = {i: n for n, i in enumerate(self._ids)}
        self._matrix = matrix

    def _apply(self, action: str, ids: list[str], vectors: Any) -> None:
        if action == "remove":
            for i in ids:
                self._drop(i)
            return
        if action == "terms":
            for i, terms in zip(ids, vectors, strict=True):
                if i in self._rows:
                    self._terms.put(i, terms)
            return
        if vectors is None:
            return
        if self._matrix.shape[1:] != vectors.shape[1:]:
            if self._ids:  # another dimension than the stored vectors: Chroma would refuse it
                return
            self._matrix = np.empty((0, vectors.shape[1]), np.float32)
        for i, row in zip(ids, vectors, strict=True):
            at = self._rows.get(i)
            if at is None:
                at = len(self._ids)
                if at == len(self._matrix):  # grow by half: a turn adds a record or two
                    grown = np.empty((max(16, at + at // 2), self._matrix.shape[1]), np.float32)
                    grown[:at] = self._matrix[:at]
                    self._matrix = grown
                self._ids.append(i)
                self._rows[i] = at
            self._matrix[at] = row

    def _drop(self, record_id: str) -> None:
        # The last row moves into the gap: O(1), and row order means nothing to the search.
        at = self._rows.pop(record_id, None)
        if at is None:
            return
        self._terms.remove(record_id)
        last = len(self._ids) - 1
        if at != last:
            moved = self._ids[last]
            self._ids[at] = moved
            self._rows[moved] = at
            self._matrix[at] = self._matrix[last]
        self._ids.pop()


def _unit_rows(vectors: Any) -> Any:
    """Float32 rows scaled to unit length (a zero row stays zero), as hnswlib's cosine space does."""
    rows = np.array(vectors, dtype=np.float32, ndmin=2)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    np.divide(rows, norms, out=rows, where=norms > 0)
    return rows


def _pages(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# Loader threads alive now; at exit they are told to stop and waited for (a page at most), so
# the interpreter never shuts Chroma down under one.
_LOADERS: set[threading.Thread] = set()
_STOP = threading.Event()
_LOADERS_LOCK = threading.Lock()
_AT_EXIT: list[bool] = []


def load_in_background(index: ResidentIndex, count: Callable[[], int], ids: Callable[[], list[str]],
                       read: Callable[[list[str]], Page]) -> None:
    """``index.load(...)`` on a thread of its own (one per index at a time); a failure leaves the
    index unloaded (Chroma keeps answering) and the next search may try again."""
    from evotr.application.memory.writes import leave_signals_to_the_main_thread

    def run() -> None:
        leave_signals_to_the_main_thread()  # Chroma's native threads started here inherit it
        try:
            index.load(count, ids, read, _STOP)
        except Exception:  # an optimisation failing: searches stay on Chroma, and may retry
            _log.debug("loading the resident index failed", exc_info=True)
        finally:
            with _LOADERS_LOCK:
                _LOADERS.discard(threading.current_thread())

    with _LOADERS_LOCK:
        if _STOP.is_set() or any(getattr(t, "index", None) is index for t in _LOADERS):
            return
        if not _AT_EXIT:
            # Registered now, after chromadb was imported: atexit runs it before Chroma's own.
            atexit.register(_stop_loaders)
            _AT_EXIT.append(True)
        thread = threading.Thread(target=run, name="evotr-index", daemon=True)
        thread.index = index  # type: ignore[attr-defined]
        _LOADERS.add(thread)
    thread.start()


def _stop_loaders() -> None:
    _STOP.set()
    with _LOADERS_LOCK:
        running = list(_LOADERS)
    for thread in running:
        thread.join(timeout=5)
