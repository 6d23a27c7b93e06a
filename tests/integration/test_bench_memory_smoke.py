"""bench_memory: its parts on a small store with the hashing embedder (the real run is minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench_loading import load_benchmark

pytestmark = pytest.mark.integration

bench = load_benchmark("bench_memory")


def test_fill_writes_the_asked_number_of_filler_memories(tmp_path: Path) -> None:
    store = bench._store(tmp_path, "hashing")
    bench.fill(store, 1_234, 16)
    assert store.count() == 1_234
    assert {r.metadata["kind"] for r in store.find(limit=50)} == {"exchange"}


def test_quality_and_latency_report_their_measures(tmp_path: Path) -> None:
    quality = bench.quality("hashing", tmp_path / "q")
    assert quality["questions"] >= 100
    assert 0 < quality["recall_at_1"] <= quality["recall_at_5"] <= 1 and 0 <= quality["in_prompt"] <= 1
    latency = bench.latency(500, 3, tmp_path / "l", "hashing")
    assert latency["memories"] == 500 and 0 < latency["median"] <= latency["max"]


def test_the_turns_query_map_flag_sets_what_recall_searches_with(tmp_path: Path) -> None:
    from evotr.container import build_container
    from evotr.infrastructure.embeddings.query_map import LinearQueryMap
    from evotr.infrastructure.embeddings.query_tower import UseQueryTower

    def chosen(flag: str | None):
        container = build_container(home=tmp_path / str(flag), env={})
        bench.use_query_map(container, flag)
        return container.models.query_map()

    assert isinstance(chosen(None), UseQueryTower)  # the configured default
    assert isinstance(chosen("tower"), UseQueryTower)
    assert chosen("false") is None
    assert isinstance(chosen("true"), UseQueryTower)
    assert isinstance(chosen("map"), LinearQueryMap)
