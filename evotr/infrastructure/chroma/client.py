"""One Chroma client per home: embedded ``PersistentClient`` by default, ``HttpClient`` for a server.

chromadb is imported when the first collection is opened, never at construction, so building the
container (and `evotr --help`) stays fast.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evotr.infrastructure.chroma.errors import ChromaStoreError
from evotr.infrastructure.chroma.version import StoreVersion

# Collection metadata: which embedder wrote the vectors (a store must not mix two models'
# vectors: their similarities mean nothing to each other).
EMBEDDER_KEY = "embedder"


class ChromaClient:
    """Opens Chroma lazily (thread-safe) and hands out collections that never embed on their own."""

    def __init__(self, path: Path, url: str | None = None) -> None:
        self._path = path
        self._url = url
        self._client: Any = None
        self._lock = threading.Lock()
        # Embedded only: other processes (`evotr memory forget` in another terminal) may write
        # the folder too; caches ask this whether they did (version.py).
        self.version = StoreVersion(path) if url is None else None
        # Bumped when the embedded client is reopened: collections got from an older one are stale.
        self.generation = 0
        self._epoch: int | None = None
        # Calls in flight (run); a reopen waits for them and holds new ones back meanwhile.
        self._calls = 0
        self._reopening = False
        self._idle = threading.Condition()
        self._follow_lock = threading.Lock()

    @property
    def embedded(self) -> bool:
        """True for the in-process PersistentClient (version tells when another process wrote)."""
        return self._url is None

    @property
    def where(self) -> str:
        """Where the data lives, for messages: the server URL or the folder."""
        return f"the Chroma server at {self._url} (memory.chroma_url)" if self._url else str(self._path)

    def client(self) -> Any:
        """The chromadb client, opened on first use."""
        with self._lock:
            if self._client is None:
                with signals_blocked():
                    self._client = self._open()
            return self._client

    def follow(self) -> int:
        """Reopen the embedded client if another process committed to the folder since it was
        opened, and return the generation collections must belong to.

        Why: Chroma's embedded client keeps its vector index in memory and never reloads it, so
        a search would go on returning what another process deleted and never find what it added
        (a second `evotr chat`, `evotr memory forget` in another terminal). Reopening (~15 ms on
        a small store, more on a large one) happens only after such a write; the check itself is
        one SQLite pragma (~10 µs). Our own writes do not count (version.py).
        """
        if self.version is None:
            return self.generation
        epoch = self.version.epoch()
        # Not under self._lock: a call in flight may need it (client()) before it can finish.
        with self._follow_lock:
            with self._lock:
                opened = self._client
            if self._epoch is None or opened is None or epoch == self._epoch:
                self._epoch = epoch
                return self.generation
            self._epoch = epoch
            with self._idle:
                self._reopening = True
                self._idle.wait_for(lambda: self._calls == 0)
            try:
                # close(): the System stops when no other client of this folder in this process
                # holds it, so the next client (opened lazily by client()) loads the index afresh.
                opened.close()
                with self._lock:
                    self._client = None
                self.generation += 1
            finally:
                with self._idle:
                    self._reopening = False
                    self._idle.notify_all()
            return self.generation

    def max_batch_size(self) -> int:
        """The most records one add or delete may carry (the server says; SQLite's limit embedded)."""
        return int(self.run(lambda: self.client().get_max_batch_size()))

    def collection(self, name: str, embedder: str) -> Any:
        """The collection ``name``, created in cosine space if missing; refuses another embedder's vectors."""
        # embedding_function=None: vectors always come from our Embedder. Chroma's default
        # function would download an ONNX model on first use and fail offline. The space goes in
        # `configuration`: the legacy "hnsw:space" metadata key makes Chroma attach its default
        # function to the collection's schema anyway (a text query would then download it).
        # Creating it commits to the folder: our own write, not another process's (version.py).
        writing = self.version.writing() if self.version is not None else contextlib.nullcontext()
        with writing:
            collection = self.run(lambda: self.client().get_or_create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
                metadata={EMBEDDER_KEY: embedder},
            ))
        stored = (collection.metadata or {}).get(EMBEDDER_KEY)
        # A collection written before the embedder was recorded is taken as it is.
        if stored is not None and stored != embedder:
            raise ChromaStoreError(
                f"the {name} collection in {self.where} holds vectors of the {stored} embedder but "
                f"memory.embedder is {embedder}: set memory.embedder back to {stored}, or use another home"
            )
        return collection

    def _open(self) -> Any:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if self._url is None:
            self._path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self._path), settings=settings)
        parts = urlsplit(self._url)
        try:
            return chromadb.HttpClient(
                host=parts.hostname or "", port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https", settings=settings,
            )
        except Exception as error:  # chromadb raises ValueError, httpx errors, ...: all mean "unreachable"
            raise ChromaStoreError(
                f"cannot reach {self.where}: {_first_line(error)}; start it with "
                "`chroma run --path DIR`, or unset memory.chroma_url to keep memory in the home"
            ) from None

    def run(self, action: Any) -> Any:
        """``action()``; with a server, its failures become one ChromaStoreError line."""
        with self._idle:
            self._idle.wait_for(lambda: not self._reopening)
            self._calls += 1
        try:
            return action()
        except ChromaStoreError:
            raise
        except Exception as error:
            if self._url is None:
                raise
            # A server that went away mid-session: one line, not an httpx traceback.
            raise ChromaStoreError(f"{self.where} failed: {_first_line(error)}") from None
        finally:
            with self._idle:
                self._calls -= 1
                self._idle.notify_all()


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Block Ctrl-C/SIGTERM in this thread meanwhile, so threads started now never take them.

    Why: a process-directed signal goes to any thread that does not block it. Chroma's embedded
    client starts native worker threads; when Ctrl-C landed on one of them, Python's main thread
    sitting in input() was never woken, so `evotr chat` ignored Ctrl-C (seen in CI under load).
    Threads inherit the mask they are created with; the main thread gets its own back at once.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield  # other threads block them for good (see memory.writes); elsewhere nothing to do
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
