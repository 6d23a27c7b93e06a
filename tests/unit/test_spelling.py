"""Spellings: a text typed with Turkish letters matches words spelled the same way only; a text
typed without them matches folded, as before (spelling.py)."""

from __future__ import annotations

import pytest

from evotr.domain.relevance.encoding import decode, encode
from evotr.domain.relevance.features import features
from evotr.domain.relevance.rank import rank
from evotr.domain.relevance.spelling import agree, careful, marks
from evotr.domain.relevance.terms import terms
from evotr.domain.relevance.thesaurus import Thesaurus

ROWS = [
    {"kind": "isa", "category": ["sure", "dua"], "members": ["fatiha", "yasin"]},
    {"kind": "same", "words": ["ağaç", "fidan"]},
    {"kind": "same", "words": ["psikolog", "terapist"]},
    {"kind": "same", "words": ["Irak", "Iraq"]},
]


def _matched(thesaurus: Thesaurus, text: str) -> set[str]:
    found = terms(text)
    return {" ".join(entry.words) for entry, _where in thesaurus.matched(found, marks(text, found))}


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("geçen", "gece", False), ("yaşında", "yasin", False), ("gıda", "gidiyorum", False),
    ("hanım", "hani", False), ("köpek", "köpeği", True), ("ağaç", "ağacı", True),
    ("ağaçta", "ağacı", True), ("psikolog", "psikoloğu", True), ("*rak", "ırak", True),
    ("*rak", "irak", True), ("gece", "gecesi", True), ("kitap", "kitabı", True),
])
def test_two_spellings_agree_unless_a_turkish_letter_meets_its_twin(a: str, b: str, expected: bool) -> None:
    assert agree(a, b) is expected
    assert agree(b, a) is expected


def test_only_a_text_with_turkish_letters_has_marks() -> None:
    assert careful("Geçen hafta") and not careful("gecen hafta")
    assert marks("Geçen hafta", terms("Geçen hafta")) == ("geçen", "hafta")
    assert marks("gecen hafta", terms("gecen hafta")) == ()
    # An upper-case I may be either letter; the circumflex is optional.
    assert marks("Instagram'da hikâye", terms("Instagram'da hikâye")) == ("*nstagram", "hikaye")
    assert marks("Şubat", terms("Şubat"), force=True) == ("şubat",)


def test_a_careful_text_names_only_thesaurus_words_spelled_like_its_own() -> None:
    thesaurus = Thesaurus.of(ROWS)
    assert "yasin" not in _matched(thesaurus, "Annem 80 yaşında")
    assert "yasin" in _matched(thesaurus, "Annem için Yasin okuttuk")
    assert "agac" in _matched(thesaurus, "Ağacın dalı kırıldı")
    assert "psikolog" in _matched(thesaurus, "Psikoloğum Selin Hanım")
    assert "irak" in _matched(thesaurus, "Irak'taki kuzenim")
    # Typed without Turkish letters: folded, as before, "yasinda" may be the sura.
    assert "yasin" in _matched(thesaurus, "annem 80 yasinda")


def test_ranking_does_not_take_a_differently_spelled_word_for_the_questions() -> None:
    question = features("Geçen nöbetim ne zamandı?")
    night = features("Gece nöbetim perşembe.")  # "gece" folds like "geçen"'s start
    monday = features("Pazartesi nöbetim var.")
    ranked = rank(question, [("night", 0.50, night), ("monday", 0.51, monday)])
    assert [item for item, _score in ranked] == ["monday", "night"]
    # The same texts typed without Turkish letters cannot be told apart: folded matching.
    careless = rank(features("gecen nobetim ne zamandi"),
                    [("night", 0.50, features("gece nobetim persembe")),
                     ("monday", 0.51, features("pazartesi nobetim var"))])
    assert [item for item, _score in careless] == ["night", "monday"]


def test_marks_are_stored_with_the_features_and_older_strings_are_worked_out_again() -> None:
    said = features("Kızım Ağaçlı'da oturuyor")
    assert decode(encode(said)) == said
    assert decode(encode(features("kizim agacli'da oturuyor"))).marks == ()  # type: ignore[union-attr]
    older = encode(said).split("|")
    assert decode("|".join(["2", *older[1:-1]])) is None  # version 2 had no marks
