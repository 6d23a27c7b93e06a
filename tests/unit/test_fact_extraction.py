"""Fact extraction, acceptance style: Turkish and English sentences → (subject, slot, value).

Every Turkish case is also checked typed without Turkish letters and in capitals (the same facts,
compared by their folded value), so the rules cannot depend on one spelling.
"""

from __future__ import annotations

import pytest

from evotr.domain.facts import USER, Slot, asked_about, extract_facts, value_key
from evotr.domain.text import fold

pytestmark = pytest.mark.unit

Expected = list[tuple[str, Slot, str]]

TURKISH: list[tuple[str, Expected]] = [
    ("Benim adım Kaan", [(USER, Slot.NAME, "Kaan")]),
    ("Adım Elif Su.", [(USER, Slot.NAME, "Elif Su")]),
    ("İsmim Mehmet Ali", [(USER, Slot.NAME, "Mehmet Ali")]),
    ("Merhaba, ben Zeynep.", [(USER, Slot.NAME, "Zeynep")]),
    ("Bana Can diyebilirsin", [(USER, Slot.NAME, "Can")]),
    ("Ankara'da yaşıyorum", [(USER, Slot.RESIDENCE, "Ankara")]),
    ("Artık İzmir'de yaşıyorum", [(USER, Slot.RESIDENCE, "İzmir")]),
    ("Şu an Eskişehir'de oturuyorum", [(USER, Slot.RESIDENCE, "Eskişehir")]),
    ("Geçen ay Bursa'ya taşındım", [(USER, Slot.RESIDENCE, "Bursa")]),
    ("Memleketim Trabzon", [(USER, Slot.HOMETOWN, "Trabzon")]),
    ("Aslen Sivasliyim", [(USER, Slot.HOMETOWN, "Sivas")]),
    ("Konya'da doğdum", [(USER, Slot.BIRTHPLACE, "Konya")]),
    ("Erzurumluyum", [(USER, Slot.HOMETOWN, "Erzurum")]),
    ("Manisa'da ikamet ediyorum", [(USER, Slot.RESIDENCE, "Manisa")]),
    ("1990'da Adana'da doğdum", [(USER, Slot.BIRTHDAY, "1990"), (USER, Slot.BIRTHPLACE, "Adana")]),
    ("Doğum günüm 14 Şubat", [(USER, Slot.BIRTHDAY, "14 Şubat")]),
    ("32 yaşındayım", [(USER, Slot.AGE, "32")]),
    ("Yaşım 45", [(USER, Slot.AGE, "45")]),
    ("Yazılım mühendisiyim", [(USER, Slot.JOB, "Yazılım mühendisi")]),
    ("Ben bir hemşireyim", [(USER, Slot.JOB, "hemşire")]),
    ("Mesleğim avukat", [(USER, Slot.JOB, "avukat")]),
    ("Aselsan'da mühendis olarak çalışıyorum",
     [(USER, Slot.WORKPLACE, "Aselsan"), (USER, Slot.JOB, "mühendis")]),
    ("Kahveyi çok severim", [(USER, Slot.LIKES, "Kahve")]),
    ("Satranç ve yüzme seviyorum", [(USER, Slot.LIKES, "Satranç"), (USER, Slot.LIKES, "yüzme")]),
    ("Kitap okumayı seviyorum", [(USER, Slot.LIKES, "Kitap okuma")]),
    ("Futbola bayılırım", [(USER, Slot.LIKES, "Futbol")]),
    ("Patlıcandan hiç hoşlanmam", [(USER, Slot.DISLIKES, "Patlıcan")]),
    ("Artık çay sevmiyorum", [(USER, Slot.DISLIKES, "çay")]),
    ("En sevdiğim renk yeşil", [(USER, Slot.FAVORITE, "yeşil")]),
    ("Favori yemeğim mantıdır", [(USER, Slot.FAVORITE, "mantı")]),
    ("Vejetaryenim", [(USER, Slot.DIET, "vejetaryen")]),
    ("Eşimin adı Ayşe", [("spouse", Slot.NAME, "Ayşe")]),
    ("Kız kardeşimin adı Defne", [("sister", Slot.NAME, "Defne")]),
    ("Köpeğimin adı Karabaş", [("dog", Slot.NAME, "Karabaş")]),
    ("Pamuk adında bir kedim var", [("cat", Slot.NAME, "Pamuk")]),
    ("Oğlum 7 yaşında", [("son", Slot.AGE, "7")]),
    ("Annemin doğum günü 3 Mayıs", [("mother", Slot.BIRTHDAY, "3 Mayıs")]),
    ("Merhaba, ben Deniz. Kadıköy'de yaşıyorum ve kedileri severim.",
     [(USER, Slot.NAME, "Deniz"), (USER, Slot.RESIDENCE, "Kadıköy"), (USER, Slot.LIKES, "kediler")]),
]

ENGLISH: list[tuple[str, Expected]] = [
    ("My name is John", [(USER, Slot.NAME, "John")]),
    ("Hi, I'm Sarah", [(USER, Slot.NAME, "Sarah")]),
    ("Call me Alex", [(USER, Slot.NAME, "Alex")]),
    ("I live in New York", [(USER, Slot.RESIDENCE, "New York")]),
    ("I moved to Berlin last year", [(USER, Slot.RESIDENCE, "Berlin")]),
    ("I'm from Izmir", [(USER, Slot.HOMETOWN, "Izmir")]),
    ("I was born in Lisbon", [(USER, Slot.BIRTHPLACE, "Lisbon")]),
    ("I work as a data analyst", [(USER, Slot.JOB, "data analyst")]),
    ("I'm a nurse", [(USER, Slot.JOB, "nurse")]),
    ("I work at Google", [(USER, Slot.WORKPLACE, "Google")]),
    ("I work for Siemens as a technician",
     [(USER, Slot.WORKPLACE, "Siemens"), (USER, Slot.JOB, "technician")]),
    ("I'm originally from Rize", [(USER, Slot.HOMETOWN, "Rize")]),
    ("I'm not a fan of opera", [(USER, Slot.DISLIKES, "opera")]),
    ("I'm 28 years old", [(USER, Slot.AGE, "28")]),
    ("My birthday is March 9", [(USER, Slot.BIRTHDAY, "March 9")]),
    ("I love hiking and jazz", [(USER, Slot.LIKES, "hiking"), (USER, Slot.LIKES, "jazz")]),
    ("I really enjoy cooking", [(USER, Slot.LIKES, "cooking")]),
    ("I don't like olives", [(USER, Slot.DISLIKES, "olives")]),
    ("I hate traffic", [(USER, Slot.DISLIKES, "traffic")]),
    ("My favourite colour is purple", [(USER, Slot.FAVORITE, "purple")]),
    ("I'm vegan", [(USER, Slot.DIET, "vegan")]),
    ("My wife's name is Emma", [("spouse", Slot.NAME, "Emma")]),
    ("My dog is called Rex", [("dog", Slot.NAME, "Rex")]),
    ("I have a cat named Luna", [("cat", Slot.NAME, "Luna")]),
]

# Questions, hypotheticals, reported speech, other people and plain requests state nothing.
NOTHING = [
    "Adım ne?", "adim ne", "Benim adım ne biliyor musun?", "Nerede yaşıyorum?", "Eşimin adı neydi?",
    "Eğer adım Kaan olsaydı ne olurdu", "Benim adım Kaan değil", "Python'da liste nasıl sıralanır?",
    "Bugün hava çok güzel", "Osmanlı tarihi anlat", "Onun adı Ali", "Adım adım anlat",
    "What is my name?", "Where do I live?", "Do I like coffee?", "If I lived in Paris, what would I do?",
    "I'm tired", "I'm Turkish", "Mutluyum", "Ben çok yorgunum", "He said his name is Bob", "I like it",
    "5+3 kaç eder", "I like your answer", "Bu fikri çok seviyorum", "Seni seviyorum",
]


def _got(text: str) -> Expected:
    return [(f.subject, f.slot, f.value) for f in extract_facts(text)]


def _keys(facts: Expected) -> list[tuple[str, Slot, str]]:
    return [(subject, slot, value_key(value)) for subject, slot, value in facts]


@pytest.mark.parametrize(("text", "expected"), TURKISH + ENGLISH, ids=[t for t, _ in TURKISH + ENGLISH])
def test_facts_are_extracted_with_their_values(text: str, expected: Expected) -> None:
    assert _got(text) == expected


@pytest.mark.parametrize(("text", "expected"), TURKISH, ids=[t for t, _ in TURKISH])
@pytest.mark.parametrize("spelling", ["undiacritised", "upper"])
def test_turkish_facts_survive_casing_and_missing_turkish_letters(text: str, expected: Expected,
                                                                  spelling: str) -> None:
    # fold() keeps the text's letters but drops case and Turkish diacritics ("İzmir'de" → "izmir'de").
    typed = fold(text) if spelling == "undiacritised" else text.replace("i", "İ").replace("ı", "I").upper()
    assert _keys(_got(typed)) == _keys(expected)


@pytest.mark.parametrize("text", NOTHING)
def test_questions_and_non_statements_state_no_fact(text: str) -> None:
    assert _got(text) == []


def test_a_lowercase_value_is_stored_capitalised_with_turkish_rules() -> None:
    assert _got("benim adim ilker") == [(USER, Slot.NAME, "İlker")]
    assert _got("izmirde yasiyorum") == [(USER, Slot.RESIDENCE, "İzmir")]


def test_shouted_names_are_written_as_names() -> None:
    assert _got("BENİM ADIM KAAN") == [(USER, Slot.NAME, "Kaan")]


def test_the_same_fact_twice_in_one_message_is_extracted_once() -> None:
    assert _got("Adım Kaan. Benim adım Kaan!") == [(USER, Slot.NAME, "Kaan")]


def test_a_pasted_document_states_no_fact() -> None:
    assert extract_facts("Benim adım Kaan. " + "x " * 2_000) == []


def test_fact_text_reads_as_a_system_prompt_line() -> None:
    [name] = extract_facts("Eşimin adı Ayşe")
    assert name.text == "Kullanıcının eşinin adı: Ayşe"
    [city] = extract_facts("İzmir'de yaşıyorum")
    assert city.text == "Kullanıcının yaşadığı yer: İzmir" and city.said == "İzmir'de yaşıyorum"


ASKED = [
    ("Adım ne?", {(USER, Slot.NAME)}),
    ("adimi hatirliyor musun", {(USER, Slot.NAME)}),
    ("What's my name?", {(USER, Slot.NAME)}),
    ("Nerede yaşıyorum?", {(USER, Slot.RESIDENCE)}),
    ("Kaç yaşındayım?", {(USER, Slot.AGE)}),
    ("Doğum günüm ne zaman?", {(USER, Slot.BIRTHDAY)}),
    ("Köpeğimin adı neydi?", {("dog", None)}),
    ("What is my wife's name?", {("spouse", None)}),
    ("Python'da liste nasıl sıralanır?", set()),
]


@pytest.mark.parametrize(("text", "expected"), ASKED, ids=[t for t, _ in ASKED])
def test_questions_name_the_slots_they_ask_about(text: str, expected: set[object]) -> None:
    assert expected <= asked_about(text)
    if not expected:
        assert asked_about(text) == set()
