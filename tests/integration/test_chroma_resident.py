"""The resident index (infrastructure/chroma/resident.py) answers as Chroma's own search would.

Real embedded Chroma, random vectors: the same ids in the same order and the same cosine
distances, after loading and after this process's upserts and deletes; another process's
writes are seen; a store over the limit stays on Chroma; writes made while loading survive it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evotr.domain.memory import MemoryRecord
from evotr.infrastructure.chroma.resident import Page, ResidentIndex
from evotr.infrastructure.chroma.vector_store import ChromaVectorStore
from tests.integration.test_chroma_other_process import in_process_b

pytestmark = pytest.mark.integration

DIM = 24


def records(rng: np.random.Generator, n: int, prefix: str = "m") -> list[MemoryRecord]:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return [MemoryRecord(f"{prefix}{i}", f"text {i}", vectors[i].tolist(), {"kind": "fact"})
            for i in range(n)]


def loaded(store: ChromaVectorStore, probe: list[float]) -> None:
    """Search until the index has loaded (its load starts with the second search)."""
    deadline = time.monotonic() + 30
    while not store._index.ready:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the resident index never loaded"
        store.nearest(probe, 1)
        time.sleep(0.02)


def same_answers(ours: ChromaVectorStore, chroma: ChromaVectorStore, queries: Any, k: int) -> None:
    """The same ids, order, records and scores as Chroma's search. Chroma's HNSW is
    approximate: past its first few it may miss one the exact search finds (seen at k=80 of
    1,500), so beyond k=10 what both return must agree and Chroma may have missed a few."""
    for query in queries:
        mine, theirs = ours.nearest(query.tolist(), k), chroma.nearest(query.tolist(), k)
        assert len(mine) == len(theirs)
        if k <= 10:
            assert [h.record for h in mine] == [h.record for h in theirs]
            np.testing.assert_allclose([h.score for h in mine], [h.score for h in theirs], atol=1e-5)
            continue
        scores = {h.record.id: h.score for h in mine}
        shared = [h for h in theirs if h.record.id in scores]
        assert len(shared) >= 0.95 * k
        np.testing.assert_allclose([scores[h.record.id] for h in shared], [h.score for h in shared],
                                   atol=1e-5)
        # Ours is exact: what only Chroma found does not beat our worst.
        assert all(h.score <= mine[-1].score + 1e-5 for h in theirs if h.record.id not in scores)


def exact(store: ChromaVectorStore, rows: dict[str, Any], queries: Any, k: int) -> None:
    """Our ids are the brute-force top ``k`` of ``rows``."""
    ids = list(rows)
    matrix = np.array([rows[i] for i in ids], dtype=np.float64)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    for query in queries:
        cosine = matrix @ (query / np.linalg.norm(query))
        expected = [ids[i] for i in np.argsort(-cosine)[:k]]
        assert [h.record.id for h in store.nearest(query.tolist(), k)] == expected


def test_the_resident_search_equals_chromas_after_loading_and_after_our_writes(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    ours = ChromaVectorStore(tmp_path / "chroma", "memories", "test")
    chroma = ChromaVectorStore(tmp_path / "chroma", "memories", "test", resident=False)
    ours.upsert(records(rng, 1_500))
    queries = rng.standard_normal((20, DIM)).astype(np.float32)
    loaded(ours, queries[0].tolist())
    assert len(ours._index) == 1_500  # type: ignore[arg-type]
    for k in (1, 10, 80):
        same_answers(ours, chroma, queries, k)
    rows = {r.id: r.embedding for r in chroma.find()}
    exact(ours, rows, queries, 80)
    # Our own writes: new records, a replaced vector, deletes (the last row moves into the gap).
    ours.upsert(records(rng, 30, prefix="n"))
    ours.upsert([MemoryRecord("m3", "moved", queries[1].tolist(), {"kind": "fact"})])
    ours.delete(["m0", "m1499", "n5", "unknown"])
    assert ours._index.ready and len(ours._index) == 1_500 + 30 - 3  # type: ignore[union-attr,arg-type]
    assert ours.nearest(queries[1].tolist(), 1)[0].record.id == "m3"
    same_answers(ours, chroma, queries, 40)


def test_writes_by_another_process_are_seen_by_the_resident_index(tmp_path: Path) -> None:
    folder = tmp_path / "chroma"
    store = ChromaVectorStore(folder, "memories", "test")
    rng = np.random.default_rng(3)
    first = records(rng, 50)
    store.upsert(first)
    loaded(store, list(first[0].embedding))
    assert store.nearest(list(first[7].embedding), 1)[0].record.id == "m7"
    far = [0.0] * DIM
    far[0] = 1.0
    in_process_b(folder, "from evotr.domain.memory import MemoryRecord\n"
                 f"store.upsert([MemoryRecord('b1', 'from b', {far!r}, {{}})])\n"
                 "store.delete(['m7'])")
    hits = store.nearest(list(first[7].embedding), 50)
    assert "m7" not in [h.record.id for h in hits]
    assert store.nearest(far, 1)[0].record.id == "b1"
    loaded(store, far)  # loads again, from what both processes wrote
    assert store.nearest(far, 1)[0].record.id == "b1"
    assert "m7" not in [h.record.id for h in store.nearest(list(first[7].embedding), 60)]


def test_a_store_over_the_limit_stays_on_chromas_search(tmp_path: Path) -> None:
    store = ChromaVectorStore(tmp_path / "chroma", "memories", "test")
    assert store._index is not None
    store._index = ResidentIndex(limit=20)
    rng = np.random.default_rng(5)
    store.upsert(records(rng, 40))
    probe = list(records(rng, 1)[0].embedding)
    for _ in range(5):
        assert len(store.nearest(probe, 3)) == 3
        time.sleep(0.05)
    assert not store._index.ready and not store._index.wants_load()


def test_writes_made_while_loading_are_replayed_over_what_the_load_read() -> None:
    index = ResidentIndex()
    index.search([1.0, 0.0], 1)
    index.search([1.0, 0.0], 1)
    assert index.wants_load()
    reading = threading.Event()

    def read(page: list[str]) -> Page:
        # Our writes commit while the load reads: one it read already, one it did not see.
        index.put(["c"], [[0.0, 1.0]])
        index.remove(["a"])
        reading.set()
        return page, [[1.0, 0.0], [0.6, 0.8]][:len(page)], [()] * len(page)

    assert index.load(lambda: 2, lambda: ["a", "b"], read, threading.Event())
    assert reading.is_set() and not index.wants_load()
    ids, distances = index.search([0.0, 1.0], 5)  # type: ignore[misc]
    assert ids == ["c", "b"]
    np.testing.assert_allclose(distances, [0.0, 0.2], atol=1e-6)


def test_a_load_overtaken_by_another_processs_commit_is_dropped() -> None:
    index = ResidentIndex()

    def read(page: list[str]) -> Page:
        index.invalidate()  # the epoch moved while we read
        return page, [[1.0, 0.0]], [()]

    assert not index.load(lambda: 1, lambda: ["a"], read, threading.Event())
    assert index.search([1.0, 0.0], 1) is None


def _said(text: str) -> dict[str, Any]:
    """A record's metadata as the background writer stores it: its relevance features."""
    from evotr.domain.relevance.encoding import FEATURES_KEY, encode
    from evotr.domain.relevance.features import features

    return {"kind": "fact", FEATURES_KEY: encode(features(text))}


def test_a_far_record_that_says_a_rare_word_of_the_question_is_offered_too(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    store = ChromaVectorStore(tmp_path / "chroma", "memories")
    filler = [MemoryRecord(r.id, f"Bugün hava güzel {r.id}", r.embedding, _said("Bugün hava güzel"))
              for r in records(rng, 60)]
    probe = rng.standard_normal(DIM).astype(np.float32)
    # The gun's memory points away from the question: the nearest ten never hold it.
    gun = MemoryRecord("gun", "Av tüfeğim Huğlu, 12 kalibre yarı otomatik.", (-probe).tolist(),
                       _said("Av tüfeğim Huğlu, 12 kalibre yarı otomatik."))
    store.upsert([*filler, gun])
    loaded(store, probe.tolist())
    question = ("tufegimin", "kalibresi")
    assert "gun" not in [h.record.id for h in store.nearest(probe.tolist(), 10)]
    offered = store.nearest(probe.tolist(), 10, question)
    assert [h.record.id for h in offered][-1] == "gun"
    assert offered[-1].score == pytest.approx(-1.0, abs=1e-5)  # its own cosine, not a made-up one
    # A word every filler says is not rare: it offers nothing.
    assert len(store.nearest(probe.tolist(), 10, ("hava",))) == 10
    # New features (the backfill) re-index a record; a deleted one is never offered.
    store.update_metadata({"gun": _said("Av tüfeğimi çelik dolapta tutuyorum.")})
    assert [h.record.id for h in store.nearest(probe.tolist(), 10, ("kalibre",))][-1] != "gun"
    assert [h.record.id for h in store.nearest(probe.tolist(), 10, ("tufek",))][-1] == "gun"
    store.delete(["gun"])
    assert "gun" not in [h.record.id for h in store.nearest(probe.tolist(), 10, ("tufek",))]


def test_the_load_reads_each_records_terms(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    first = ChromaVectorStore(tmp_path / "chroma", "memories")
    probe = rng.standard_normal(DIM).astype(np.float32)
    gun = "Av tüfeğim 12 kalibre."
    first.upsert([*(MemoryRecord(r.id, "Bugün hava güzel", r.embedding, _said("Bugün hava güzel"))
                    for r in records(rng, 30)),
                  MemoryRecord("gun", gun, (-probe).tolist(), _said(gun))])
    # Another store object on the same folder knows the terms only from its own load.
    second = ChromaVectorStore(tmp_path / "chroma", "memories")
    loaded(second, probe.tolist())
    assert [h.record.id for h in second.nearest(probe.tolist(), 5, ("kalibre",))][-1] == "gun"
