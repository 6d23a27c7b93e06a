"""Relatives named through another person: "kızımın kocası" is the son-in-law, "Emine'nin kocası"
too once Emine is the daughter; recall finds the memory that says "damadım" or his name."""

from __future__ import annotations

import pytest

from evotr.domain.relevance.encoding import decode, encode
from evotr.domain.relevance.features import features
from evotr.domain.relevance.kinship import KinPhrase, compose
from evotr.domain.relevance.rank import People, RankWeights, rank

pytestmark = pytest.mark.unit


def _top(question: str, candidates: list[tuple[str, float]]) -> str:
    return rank(features(question), [(t, c, features(t)) for t, c in candidates])[0][0]


@pytest.mark.parametrize(("text", "expected"), [
    ("Kızımın kocası nerede çalışıyor?", (KinPhrase("kizimin", "daughter", "kocasi", ("spouse",)),)),
    ("kizimin kocasi nerede calisiyor", (KinPhrase("kizimin", "daughter", "kocasi", ("spouse",)),)),
    ("Emine'nin kocası ne iş yapıyor?", (KinPhrase("emine", "", "kocasi", ("spouse",)),)),
    ("Emre'nin ikiz oğulları Can ile Deniz", (KinPhrase("emre", "", "ogullari", ("son",), "can"),)),
    ("Katrin'in annesiyle babası Regensburg'da",
     (KinPhrase("katrin", "", "annesiyle", ("mother",)), KinPhrase("katrin", "", "babasi", ("father",)))),
    ("Kızım Esra öğretmen", ()),            # no genitive: not a path to someone else
    ("Esirgemeyen eli unutmam", ()),        # "esi…" is not "eşi"
    ("Esra'nın öğle yemeği", ()),           # "öğle" is not "oğlu"
    ("Ali'nin kızıl saçları", ()),          # "kızıl" is not "kızı"
])
def test_kin_phrases_are_read_from_genitive_and_possessive(
        text: str, expected: tuple[KinPhrase, ...]) -> None:
    assert features(text).kin == expected


@pytest.mark.parametrize(("owner", "owned", "expected"), [
    ("daughter", "spouse", ("son_in_law",)), ("son", "spouse", ("daughter_in_law",)),
    ("spouse", "mother", ("mother_in_law",)), ("sibling", "son", ("nephew",)),
    ("child", "child", ("grandchild",)), ("mother", "father", ("grandparent",)),
    ("uncle", "daughter", ("cousin",)), ("son", "mother", ("spouse",)), ("friend", "spouse", ()),
    ("sibling", "spouse", ("brother_in_law", "sister_in_law")),
    ("daughter", "teacher", ()),
])
def test_two_relations_compose_to_the_word_people_use(
        owner: str, owned: str, expected: tuple[str, ...]) -> None:
    assert compose(owner, owned) == expected


def test_the_path_finds_the_memory_that_names_the_relation() -> None:
    candidates = [("Kızım Esra bir ortaokulda matematik öğretmeni.", 0.56),
                  ("Damadım Serkan Halkbank'ın Meram şubesinde memur.", 0.50)]
    assert _top("Kızımın kocası nerede çalışıyor?", candidates).startswith("Damadım")


def test_a_name_in_the_question_is_resolved_through_another_memory() -> None:
    candidates = [("Emine'nin düğünü 2014'te Ünye'de oldu.", 0.55),
                  ("Damadım Murat İstanbul'da İETT'de otobüs şoförü.", 0.45),
                  ("Kızım Emine Ünye'de eczacı.", 0.40)]
    assert _top("Emine'nin kocası ne iş yapıyor?", candidates).startswith("Damadım")
    # Nobody says who Emine is: no son-in-law to look for, the closer memory stays first.
    alone = [c for c in candidates if not c[0].startswith("Kızım")]
    assert _top("Emine'nin kocası ne iş yapıyor?", alone).startswith("Emine'nin")


def test_a_memory_naming_a_grandchild_through_a_son_answers_for_grandchildren() -> None:
    candidates = [("Emre'nin eşi Sibel Almanya'da doğmuş.", 0.58),
                  ("Emre'nin ikiz oğullarının adı Can ile Deniz.", 0.40),
                  ("Küçük oğlum Emre Köln'de çalışıyor.", 0.50)]
    assert _top("Torunlarımın isimleri neydi?", candidates).startswith("Emre'nin ikiz")
    people = People.of(features(t) for t, _ in candidates)
    assert people.kin_of(features(candidates[1][0])) == {"grandchild"}
    assert "can" in people.names["grandchild"]


def test_a_sisters_husband_answers_for_the_enishte_and_not_someone_elses() -> None:
    candidates = [("Evde bir şey bozulunca ev sahibinin eniştesi Oğuz Bey'i arıyorum.", 0.45),
                  ("Ablamın eşi Serkan İzmir'de bir tersanede gemi mühendisi.", 0.40)]
    assert _top("enistem ne is yapiyordu", candidates).startswith("Ablamın")
    assert _top("Yengem nerede çalışıyor?", [("Abimin eşi Derya bankada çalışıyor.", 0.35),
                                             ("Ablam Burcu diş hekimi.", 0.45)]).startswith("Abimin")


def test_plural_relatives_without_my_are_the_users() -> None:
    # "Yeğenlerden" says no "my": still the user's nieces, so the sister's daughter gets the
    # relation's evidence (without the word she gets none) and passes a closer memory.
    niece = "Ablamın kızı Ada yedi yaşında, Minecraft'a bayılıyor."
    candidates = [("Babamın doğum günü 3 Şubat, ona kitap yolluyorum.", 0.43), (niece, 0.40)]

    def score(question: str) -> float:
        ranked = rank(features(question), [(t, c, features(t)) for t, c in candidates])
        return next(s for t, s, *_ in ranked if t == niece)

    assert score("Yeğenlerden büyüğüne hediye alacağım, neye meraklıydı?") > \
        score("Büyüğüne hediye alacağım, neye meraklıydı?") + 0.05
    assert _top("Yeğenlerden büyüğüne hediye alacağım, neye meraklıydı?", candidates) == niece


def test_a_named_relative_through_a_relation_becomes_an_alias() -> None:
    people = People.of([features("Kızımın kocası Serkan bankada çalışıyor.")])
    assert people.relations["serkan"] == "son_in_law"
    about_him = {"Serkan Halkbank'ta memur.", "Kızımın kocası Serkan bankada çalışıyor."}
    assert _top("Damadım ne iş yapıyor?", [("Annem emekli hemşire.", 0.45),
                                          ("Serkan Halkbank'ta memur.", 0.35),
                                          ("Kızımın kocası Serkan bankada çalışıyor.", 0.20)]) in about_him


def test_kin_phrases_round_trip_through_metadata() -> None:
    found = features("Emre'nin ikiz oğullarının adı Can ile Deniz.")
    back = decode(encode(found))
    assert back is not None and back.kin == found.kin and back.kin


def test_without_the_lexical_weight_the_path_does_nothing() -> None:
    candidates = [("Kızım Esra bir ortaokulda matematik öğretmeni.", 0.56),
                  ("Damadım Serkan Halkbank'ın Meram şubesinde memur.", 0.50)]
    off = RankWeights(lexical=0.0, related=0.0, kinds=0.0, answer=0.0, subject=0.0)
    question = features("Kızımın kocası nerede çalışıyor?")
    ranked = rank(question, [(t, c, features(t)) for t, c in candidates], off)
    assert ranked[0][0].startswith("Kızım")
