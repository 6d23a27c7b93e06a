"""The thesaurus: which words name one another, how entries match inflected words, and what the
shipped file holds."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from evotr.domain.relevance.features import features
from evotr.domain.relevance.rank import RankWeights, rank
from evotr.domain.relevance.terms import terms
from evotr.domain.relevance.thesaurus import (
    DATA,
    Thesaurus,
    decode_links,
    encode_links,
    offered,
    says,
    wanted,
)

ROWS = [
    {"kind": "same", "words": ["motosiklet", "motor", "iki teker"]},
    {"kind": "isa", "category": ["ilaç", "hap"], "members": ["coraspin", "beloc"]},
    {"kind": "same", "words": ["eş", "su"]},  # too short to match by prefix: left out
]


def _tokens(thesaurus: Thesaurus, text: str, side: str) -> set[str]:
    found = thesaurus.matched(terms(text))
    return {t for entry, _where in found for t in (entry.offers if side == "offers" else entry.wants)}


@pytest.mark.parametrize(("word", "term", "expected"), [
    ("muayene", "muayenesi", True), ("muayene", "muayene", True), ("kopek", "kopegi", True),
    ("muayene", "muayeneci", False), ("motor", "motorsiklet", False), ("ilac", "ilaclarim", True),
])
def test_an_entry_word_matches_its_inflected_forms_only(word: str, term: str, expected: bool) -> None:
    assert says(word, term) is expected


@pytest.mark.parametrize(("word", "term", "expected"), [
    ("ayt", "ayt", True), ("ayt", "ayda", False), ("alt", "aldim", False), ("ist", "istiyorum", False),
    ("dis", "disim", True), ("hap", "hapimi", True), ("kitap", "kitabi", True),
])
def test_a_one_syllable_word_matches_only_its_short_forms_and_keeps_its_consonant(
        word: str, term: str, expected: bool) -> None:
    # Folded text makes short words prefixes of many others: AYT (an exam) is not "ayda" (a month).
    assert says(word, term) is expected


def test_a_memory_saying_a_month_does_not_offer_the_exam_its_folded_form_starts_like() -> None:
    thesaurus = Thesaurus.of([{"kind": "isa", "category": ["üniversite sınavı"], "members": ["ayt", "tyt"]}])
    assert not _tokens(thesaurus, "Ayda 5.000 lira biriktiriyorum", "offers")
    assert _tokens(thesaurus, "AYT'den 70 net yaptım", "offers") & _tokens(
        thesaurus, "Üniversite sınavında kaç net yapmıştım?", "wants")


def test_words_of_one_row_link_and_members_link_to_their_category_not_to_each_other() -> None:
    thesaurus = Thesaurus.of(ROWS)
    assert _tokens(thesaurus, "İki tekerlimi kime götürüyordum?", "wants") & _tokens(
        thesaurus, "Motorun bakımını Hakan yapıyor", "offers")
    asked_drug = _tokens(thesaurus, "Hangi ilacı içiyordum?", "wants")
    assert asked_drug & _tokens(thesaurus, "Sabahları Coraspin alıyorum", "offers")
    assert _tokens(thesaurus, "Coraspin ne zaman?", "wants") & _tokens(thesaurus, "Hapımı unuttum", "offers")
    other_drug = _tokens(thesaurus, "Beloc alıyorum", "offers")
    assert not _tokens(thesaurus, "Coraspin ne zaman?", "wants") & other_drug
    assert not _tokens(thesaurus, "Eşim su içti", "offers")


def test_a_phrase_matches_only_when_all_its_words_are_said() -> None:
    thesaurus = Thesaurus.of(ROWS)
    assert not _tokens(thesaurus, "iki kardeşim var", "offers")
    assert _tokens(thesaurus, "iki tekerli aldım", "offers")


def test_the_shipped_file_is_well_formed() -> None:
    text = resources.files("evotr.domain.relevance").joinpath(DATA).read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(rows) > 500
    for number, row in enumerate(rows, 1):
        assert row["kind"] in {"same", "isa"}, number
        words = row["words"] if row["kind"] == "same" else [*row["category"], *row["members"]]
        assert len(words) >= 2 and all(isinstance(w, str) and w.strip() for w in words), number


def test_the_shipped_thesaurus_links_a_question_to_the_fact_the_embedder_misses() -> None:
    question, fact = "TÜVTÜRK randevusu ne zamandı?", "Arabanın muayenesi haziranda"
    wants = wanted(terms(question))
    assert any(w & offered(terms(fact)) for w in wants)


def test_the_related_weight_lifts_a_memory_that_names_the_asked_thing_otherwise() -> None:
    question = features("TÜVTÜRK randevusu ne zamandı?")
    target, other = features("Arabanın muayenesi haziranda."), features("Arabanın sigortası mayısta.")
    off = rank(question, [("other", 0.40, other), ("target", 0.38, target)], RankWeights(related=0.0))
    on = rank(question, [("other", 0.40, other), ("target", 0.38, target)], RankWeights(related=0.4))
    assert next(item for item, _ in off) == "other"
    assert next(item for item, _ in on) == "target"


def test_links_round_trip_through_metadata_and_another_thesaurus_is_ignored() -> None:
    said = terms("Sabahları Coraspin alıyorum, arabanın muayenesi haziranda")
    value = encode_links(said)
    assert decode_links(value) == offered(said)
    assert decode_links("00000000 " + value.partition(" ")[2]) is None
    assert decode_links(None) is None


def test_ranking_uses_the_links_a_writer_stored() -> None:
    question = features("TÜVTÜRK randevusu ne zamandı?")
    target, other = features("Arabanın muayenesi haziranda."), features("Arabanın sigortası mayısta.")
    candidates = [("other", 0.40, other), ("target", 0.38, target)]
    stored = [decode_links(encode_links(other.terms)), decode_links(encode_links(target.terms))]
    assert next(item for item, _ in rank(question, candidates, links=stored)) == "target"
    # what a writer stored is what ranking reads: links saying nothing leave the order to the cosine
    assert next(item for item, _ in rank(question, candidates, links=[frozenset(), frozenset()])) == "other"


def test_a_model_or_brand_leading_in_the_genitive_is_a_thing_not_someone_else() -> None:
    # "Egea'nın plakası" is the user's car's plate: no "about someone else" penalty against "plakam".
    assert not features("Egea'nın plakası 44 AKB 217.").about_other
    assert features("Burak'ın doğum günü 3 Ağustos.").about_other
    plate = features("Egea'nın plakası 44 AKB 217.")
    other = features("Babamın arabasının plakası 10 AY 4581.")
    ranked = rank(features("Plakam neydi?"), [("father", 0.30, other), ("mine", 0.29, plate)])
    assert ranked[0][0] == "mine"


def test_a_phrase_with_a_verb_is_said_by_the_verbs_forms() -> None:
    rows = [{"kind": "same", "words": ["kurban kesmek", "kurban bayramı"]},
            {"kind": "same", "words": ["hacca gitmek", "hac"]},
            {"kind": "same", "words": ["terk etmek", "ayrılmak"]},
            {"kind": "same", "words": ["ekmek", "somun"]}]
    thesaurus = Thesaurus.of(rows)
    assert _tokens(thesaurus, "Geçen yıl kurban kestik", "offers") == {"s:0"}
    assert _tokens(thesaurus, "Annemler hacca gidiyor", "offers") == {"s:1"}  # git- softened
    assert _tokens(thesaurus, "Evi terk ettik", "offers") == {"s:2"}  # a two-letter verb in a phrase
    assert _tokens(thesaurus, "Eşimden ayrıldım", "offers") == {"s:2"}  # alone, a stem of 4+ letters
    assert _tokens(thesaurus, "Kurban etinden kestirme yol", "offers") == set()  # no verb form of kes-
    assert _tokens(thesaurus, "Ekim'de ektik", "offers") == set()  # "ekmek" is bread too: kept whole
