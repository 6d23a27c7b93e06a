"""The shared embedding cache across threads: a text being embedded by one thread is not embedded again."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from evotr.infrastructure.embeddings.cache import CachedEmbedder
from evotr.infrastructure.memory.embedder import HashingEmbedder


class HeldEmbedder(HashingEmbedder):
    """The hashing embedder, recording each call's texts; a call holding ``hold`` waits for ``release``."""

    def __init__(self, hold: str = "") -> None:
        super().__init__()
        self.calls: list[list[str]] = []
        self.hold = hold
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail = False
        self.called = threading.Semaphore(0)

    def wait_calls(self, n: int) -> None:
        """Until the model has been called ``n`` times in all."""
        deadline = time.monotonic() + 10
        while len(self.calls) < n:
            assert time.monotonic() < deadline
            self.called.acquire(timeout=0.1)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        self.called.release()
        if self.hold in texts:
            self.started.set()
            assert self.release.wait(10)
            if self.fail:
                raise RuntimeError("model failed")
        return super().embed(texts)


def test_a_text_another_thread_is_embedding_is_waited_for_not_embedded_again() -> None:
    inner = HeldEmbedder(hold="mesaj")
    cache = CachedEmbedder(inner)
    results: dict[str, list[list[float]]] = {}
    recall = threading.Thread(target=lambda: results.__setitem__("recall", cache.embed(["mesaj", "cümle"])))
    recall.start()
    assert inner.started.wait(10)
    router = threading.Thread(target=lambda: results.__setitem__("router",
                                                                  cache.embed(["katlanmis", "mesaj"])))
    router.start()
    inner.wait_calls(2)  # the second thread has made its own call while "mesaj" is still held
    inner.release.set()
    recall.join(10)
    router.join(10)
    # "mesaj" reached the model once, in the first thread's call; the second embedded only its own.
    assert inner.calls == [["mesaj", "cümle"], ["katlanmis"]]
    expected = HashingEmbedder().embed(["mesaj", "cümle", "katlanmis"])
    assert results["recall"] == expected[:2]
    assert results["router"] == [expected[2], expected[0]]
    assert (cache.hits, cache.misses) == (1, 3)


def test_a_failed_call_fails_its_waiters_and_is_tried_again_later() -> None:
    inner = HeldEmbedder(hold="mesaj")
    inner.fail = True
    cache = CachedEmbedder(inner)
    errors: list[BaseException] = []

    def embed(texts: list[str]) -> None:
        try:
            cache.embed(texts)
        except RuntimeError as error:
            errors.append(error)

    first = threading.Thread(target=embed, args=(["mesaj"],))
    first.start()
    assert inner.started.wait(10)
    second = threading.Thread(target=embed, args=(["başka", "mesaj"],))
    second.start()
    inner.wait_calls(2)
    inner.release.set()
    first.join(10)
    second.join(10)
    assert len(errors) == 2 and inner.calls == [["mesaj"], ["başka"]]
    inner.fail = False
    assert cache.embed(["mesaj", "başka"]) == HashingEmbedder().embed(["mesaj", "başka"])
    assert inner.calls == [["mesaj"], ["başka"], ["mesaj"]]


def test_sizes_below_one_are_refused() -> None:
    with pytest.raises(ValueError):
        CachedEmbedder(HashingEmbedder(), size=0)
