"""The term index behind recall's rare-word candidates (domain/relevance/rare_terms.py)."""

from __future__ import annotations

import pytest

from evotr.domain.relevance.rare_terms import TermIndex

pytestmark = pytest.mark.unit


def test_a_rare_root_finds_the_records_that_say_it_in_any_form() -> None:
    index = TermIndex()
    index.put("gun", ("av", "tufegim", "huglu", "12", "kalibre"))
    index.put("cat", ("kedim", "pamuk"))
    assert index.saying(("tufegimin", "kalibresi")) == ["gun"]
    assert index.saying(("kedisi",)) == ["cat"]
    assert index.saying(("12",)) == []  # numbers are not words that pick a memory out


def test_a_word_said_by_many_records_is_not_rare() -> None:
    index = TermIndex()
    for n in range(12):
        index.put(f"m{n}", ("evim", f"oda{n}"))
    assert index.saying(("evimiz",), rare=10) == []
    assert index.saying(("evimiz",), rare=12) != []


def test_a_word_only_one_record_says_counts_more_than_one_two_say() -> None:
    index = TermIndex()
    index.put("a", ("kalibre",))
    index.put("b", ("tufek",))
    index.put("c", ("tufek",))
    assert index.saying(("tufek", "kalibre"))[0] == "a"
    assert index.saying(("tufek", "kalibre"), most=2) == ["a", "b"]


def test_removed_and_re_indexed_records_answer_by_their_current_terms() -> None:
    index = TermIndex()
    index.put("a", ("kalibre",))
    index.put("a", ("dolap",))
    assert index.saying(("kalibre",)) == []
    assert index.saying(("dolapta",)) == ["a"]
    index.remove("a")
    assert index.saying(("dolapta",)) == [] and len(index) == 0
