"""The category development set and the rule bench_categories.py types a memory's words by."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_categories  # noqa: E402


def _rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in bench_categories.TYPES.read_text("utf-8").splitlines()]


def test_every_labelled_category_is_one_of_the_nouns_and_rows_have_the_retrieval_shape() -> None:
    rows = _rows()
    labelled = [r for r in rows if "category" in r]
    assert len(labelled) == 32
    assert all(r["category"] in bench_categories.NOUNS for r in labelled)
    assert all({"id", "topic", "memory", "paraphrase", "query"} <= r.keys() for r in labelled)
    assert len({r["id"] for r in rows}) == len(rows)


def test_salient_keeps_a_name_whole_and_leaves_out_words_the_lexicon_knows() -> None:
    words = bench_categories.salient("Arkadaşım geçen ay Skoda Octavia aldı")
    assert "Skoda Octavia" in words
    assert "Arkadaşım" not in words  # a family/friend word: the lexicon's kinds already match it
    assert bench_categories.salient("Yüzüyorum") == ["Yüzüyorum"]  # nothing salient: the whole text
