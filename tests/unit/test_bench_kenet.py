"""The rules bench_kenet.py reads KeNet by, on a small WordNet XML of our own (no KeNet needed)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_kenet  # noqa: E402

# A tiny tree: varlık > nesne > alet > müzik aleti (enstrüman) > bağlama; kuş and kuşum (a
# second noun a longer prefix would find first), an adjective, and a cycle between two synsets.
_SYNSETS = [
    ("S0", "n", [("varlık", 1)], []),
    ("S1", "n", [("nesne", 1)], ["S0"]),
    ("S2", "n", [("alet", 1)], ["S1"]),
    ("S3", "n", [("müzik aleti", 1), ("enstrüman", 1)], ["S2"]),
    ("S4", "n", [("bağlama", 1)], ["S3"]),
    ("S5", "n", [("bağlama", 2)], ["S1"]),
    ("S6", "n", [("köpek", 1)], ["S1"]),
    ("S7", "a", [("güzel", 1)], []),
    ("C1", "n", [("döngü", 1)], ["C2"]),
    ("C2", "n", [("halka", 1)], ["C1"]),
]


def _xml(path: Path) -> Path:
    parts = ["<SYNSETS>"]
    for key, pos, literals, up in _SYNSETS:
        lits = "".join(f"<LITERAL>{word}<SENSE>{sense}</SENSE></LITERAL>" for word, sense in literals)
        links = "".join(f"<SR>{u}<TYPE>HYPERNYM</TYPE></SR>" for u in up)
        parts.append(f"<SYNSET><ID>{key}</ID><SYNONYM>{lits}</SYNONYM><POS>{pos}</POS>{links}</SYNSET>")
    path.write_text("".join([*parts, "</SYNSETS>"]), "utf-8")
    return path


def test_load_keeps_nouns_and_fanout_counts_descendants_through_a_cycle(tmp_path: Path) -> None:
    nouns = bench_kenet.load(_xml(tmp_path / "wn.xml"))
    assert "S7" not in nouns and nouns["S3"][0] == (("müzik aleti", 1), ("enstrüman", 1))
    fan = bench_kenet.fanout(nouns)
    assert fan["S0"] == 6 and fan["S1"] == 5 and fan["S3"] == 1 and fan.get("S4", 0) == 0
    assert fan["C1"] == 1 and fan["C2"] == 1


def test_lemma_takes_the_longest_noun_followed_by_noun_endings_only(tmp_path: Path) -> None:
    nouns = bench_kenet.load(_xml(tmp_path / "wn.xml"))
    net = bench_kenet.KeNet(nouns, bench_kenet.fanout(nouns))
    assert net.lemma("baglamami") == "baglama"
    assert net.lemma("kopegim") == "kopek"  # the softened k
    assert net.lemma("baglamiyorum") is None  # a verb ending after "bağla-" is no noun's
    assert net.lemma("nesnelerimizden") == "nesne"


def test_broader_walks_up_levels_leaves_out_general_synsets_and_other_senses(tmp_path: Path) -> None:
    nouns = bench_kenet.load(_xml(tmp_path / "wn.xml"))
    fan = bench_kenet.fanout(nouns)
    near = bench_kenet.KeNet(nouns, fan, levels=1)
    assert near.broader("baglama") == {"aleti", "enstruman"}  # head words; sense 2's "nesne" left out
    wide = bench_kenet.KeNet(nouns, fan, levels=4, max_fanout=4)
    assert wide.broader("baglama") == {"aleti", "enstruman", "alet"}  # nesne (5) and varlık (6) too general
    every_sense = bench_kenet.KeNet(nouns, fan, levels=1, max_fanout=5, senses=0)
    assert "nesne" in every_sense.broader("baglama")
    assert wide.of_terms(("baglamayi", "kopegim")) == {"aleti", "enstruman", "alet"}
