"""The embedded Chroma store's read cache: a read that overlaps a write is never kept."""

from __future__ import annotations

from evotr.domain.memory import MemoryRecord
from evotr.infrastructure.chroma.record_cache import RecordCache, find_key


def test_a_read_overlapping_a_write_is_not_kept() -> None:
    cache = RecordCache()
    generation = cache.generation
    cache.written(["a"])  # a write began after the read did
    cache.put(generation, {"a": MemoryRecord("a", "old", ())})
    assert cache.entries(["a"]) == {}
    cache.put(cache.generation, {"a": MemoryRecord("a", "new", ())})
    assert cache.entries(["a"])["a"].text == "new"


def test_updates_merge_into_kept_records_and_drop_finds_on_their_keys() -> None:
    cache = RecordCache()
    cache.put(cache.generation, {"a": MemoryRecord("a", "text", (), {"kind": "fact", "n": 1})})
    record = MemoryRecord("a", "text", (1.0,), {"kind": "fact", "n": 1})
    by_kind, by_n = find_key({"kind": "fact"}, None, 0), find_key({"n": 1}, None, 0)
    cache.find(by_kind, lambda: [record])
    cache.find(by_n, lambda: [record])
    cache.updated({"a": {"n": 2}}, done=False)
    cache.updated({"a": {"n": 2}}, done=True)
    assert cache.entries(["a"])["a"].metadata == {"kind": "fact", "n": 2}
    assert cache.find(by_kind, lambda: [])[0].metadata["n"] == 2  # kept, merged
    assert cache.find(by_n, lambda: []) == []  # filtered on an updated key: read again


def test_an_upsert_matching_a_filter_drops_that_find() -> None:
    cache = RecordCache()
    key = find_key({"subject": "user"}, None, 0)
    cache.find(key, lambda: [])
    cache.written(["b"], [{"subject": "someone"}], {"b": MemoryRecord("b", "x", (), {"subject": "someone"})})
    assert cache.find(key, lambda: [MemoryRecord("z", "z", (1.0,))]) == []  # still cached
    cache.written(["c"], [{"subject": "user"}])
    assert [r.id for r in cache.find(key, lambda: [MemoryRecord("c", "c", (1.0,))])] == ["c"]


def test_large_find_answers_are_not_kept() -> None:
    cache = RecordCache(find_rows=1)
    key = find_key({"kind": "exchange"}, None, 0)
    two = [MemoryRecord("a", "a", (1.0,)), MemoryRecord("b", "b", (1.0,))]
    assert cache.find(key, lambda: two) == two
    assert cache.find(key, lambda: []) == []  # read again, not kept


def test_clear_drops_records_finds_and_gone_ids_and_a_read_in_flight() -> None:
    cache = RecordCache()
    cache.put(cache.generation, {"a": MemoryRecord("a", "x", ())}, absent=["gone"])
    cache.find(find_key({"s": 1}, None, 0), lambda: [MemoryRecord("a", "x", ())])
    assert cache.absent(["gone", "a"]) == {"gone"}
    in_flight = cache.generation
    cache.clear()
    assert cache.entries(["a"]) == {} and cache.absent(["gone"]) == set()
    assert cache.find(find_key({"s": 1}, None, 0), lambda: []) == []
    cache.put(in_flight, {"b": MemoryRecord("b", "y", ())}, absent=["c"])
    assert cache.entries(["b"]) == {} and cache.absent(["c"]) == set()


def test_an_id_written_again_is_no_longer_gone() -> None:
    cache = RecordCache()
    cache.put(cache.generation, {}, absent=["a"])
    cache.written(["a"], stored={"a": MemoryRecord("a", "back", ())})
    assert cache.absent(["a"]) == set() and cache.entries(["a"])["a"].text == "back"
