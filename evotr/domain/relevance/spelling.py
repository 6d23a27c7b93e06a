"""How a text spelled its terms, when it was typed with Turkish letters.

Terms are folded ("geçen" → "gecen") so that a question typed without Turkish letters still
finds its memory. Folding also makes different words one: "geçen" says "gece", "yaşında" says
the sura "Yasin", "hanım" says "hani", "çalışıyor" the bush "çalı". A text that uses Turkish
letters anywhere was typed on a Turkish keyboard, so its plain letters are plain too: there the
spelling of each term (its *mark*) is kept, and two terms, or a term and a thesaurus word, only
match where their marks agree. A text with no Turkish letter has no marks and matches folded, as
before. An upper-case "I" is either letter (Turkish "Irak" or English "Instagram"): it agrees with
both; the circumflex is optional in Turkish ("hikâye", "hikaye") and is dropped.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from evotr.domain.text import fold

_TURKISH = frozenset("çğıöşüÇĞİÖŞÜâîûÂÎÛ")
_KEPT = frozenset("çğıöşü*")  # what a mark keeps of the typed letters; the rest comes from folding
_TYPED = str.maketrans({"I": "*", "İ": "i", "â": "a", "î": "i", "û": "u", "Â": "a", "Î": "i", "Û": "u"})
_ALNUM = re.compile(r"[a-z0-9]+")
# A final ç or g softens before a vowel ending: "ağaç" → "ağacı", "psikolog" → "psikoloğu".
_SOFTENS = frozenset({("ç", "c"), ("g", "ğ")})
_VOWELS = frozenset("aeıioöuü*")


def careful(text: str) -> bool:
    """Whether ``text`` uses Turkish letters (so its plain letters mean plain letters)."""
    return any(c in _TURKISH for c in text)


@functools.lru_cache(maxsize=65_536)
def _word_marks(typed: str) -> tuple[tuple[str, str], ...]:
    """(folded word, its mark) for the letter-or-digit runs of one typed word; () where folding
    changed the word's length (a ligature), so that letters cannot be lined up."""
    folded = fold(typed)
    lowered = unicodedata.normalize("NFC", typed).translate(_TYPED).lower()
    if len(lowered) != len(folded):
        return ()
    out = []
    for run in _ALNUM.finditer(folded):
        start, end = run.span()
        mark = "".join(m if m in _KEPT else f for m, f in zip(lowered[start:end], run.group(), strict=True))
        out.append((run.group(), mark))
    return tuple(out)


def marks(text: str, terms: tuple[str, ...], force: bool = False) -> tuple[str, ...]:
    """Each term's mark, in order; () when ``text`` is not careful (and not ``force``)."""
    if not terms or not (force or careful(text)):
        return ()
    if "I" not in text and not careful(text):
        return terms  # plain letters only: each term is spelled as it folds (most thesaurus words)
    found: dict[str, str] = {}
    for typed in text.replace("’", "'").replace("`", "'").split():
        for term, mark in _word_marks(typed):
            found.setdefault(term, mark)
    return tuple(found.get(t, t) for t in terms)


@functools.lru_cache(maxsize=262_144)
def agree(a: str, b: str) -> bool:
    """Whether two marks can be one word: no letter where one has a Turkish letter and the other
    its plain twin, over their common length ("geçen"/"gece" do not agree; "köpek"/"köpeği" do,
    k and ğ are not twins; "ağaç"/"ağacı" do, a softened ç)."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x == y or x == "*" or y == "*" or fold(x) != fold(y):
            continue
        if not (_softened(a, b, i) or _softened(b, a, i)):
            return False
    return True


def _softened(hard: str, soft: str, i: int) -> bool:
    """Whether ``soft`` has the softened form of ``hard``'s consonant at ``i``: before a vowel,
    where ``hard`` ends or goes on with a consonant ("ağaçta", "ağacı")."""
    return ((hard[i], soft[i]) in _SOFTENS and i + 1 < len(soft) and soft[i + 1] in _VOWELS
            and (i + 1 == len(hard) or hard[i + 1] not in _VOWELS))
