"""The dynamic prompt: verdicts make exemplars (latest verdict wins), picks go through an LRU cache
keyed by intent and normalised message, and the context budget drops exemplars before history."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from evotr.application.exemplars import LearnExemplar, RecallExemplars
from evotr.application.settings import MemorySettings
from evotr.domain.conversation import ContextBudget, ExchangeTurn, Message, Role
from evotr.domain.errors import DomainValidationError
from evotr.domain.exemplar_cache import ExemplarCache
from evotr.domain.exemplars import Exemplar, ExemplarPolicy, normalise
from evotr.domain.feedback import Feedback
from evotr.domain.intents import Intent
from evotr.domain.turns import TurnRecord
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore

QUESTION = "Python'da bir liste nasıl sıralanır?"
SIMILAR = "Python'da liste nasıl sıralanır"


class CountingEmbedder(HashingEmbedder):
    """Counts texts embedded, so a test can see a cache hit or a shared vector skip the model."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return super().embed(texts)


def _turn(prompt: str = QUESTION, reply: str = "Bilmiyorum.",
          intent: Intent = Intent.CODE_PYTHON) -> TurnRecord:
    return TurnRecord(prompt=prompt, reply=reply, intent=intent, confidence=0.9)


LOOSE = ExemplarPolicy(floor=0.4)


def _parts(policy: ExemplarPolicy = LOOSE) -> tuple[LearnExemplar, RecallExemplars, ExemplarCache,
                                                    CountingEmbedder]:
    store, embedder, cache = InMemoryVectorStore(), CountingEmbedder(), ExemplarCache(policy.cache_size)
    recall = RecallExemplars(store, embedder, cache, policy)
    return LearnExemplar(store, embedder, cache), recall, cache, embedder


def test_normalise_is_turkish_aware_and_folds_diacritics_and_spacing() -> None:
    assert normalise("  PYTHON'DA   LİSTE\tNASIL Sıralanır ") == normalise("python'da liste nasil siralanir")
    assert normalise("Işık") == "isik"  # I -> ı -> i, not "i̇şık"


def test_cache_counts_hits_and_misses_evicts_least_recent_and_invalidates_one_intent() -> None:
    cache = ExemplarCache(2)
    assert cache.get(Intent.CODE_PYTHON, "a") is None
    cache.put(Intent.CODE_PYTHON, "a", ())
    cache.put(Intent.HISTORY, "b", ())
    assert cache.get(Intent.CODE_PYTHON, " A ") == ()  # "a" is now the most recent
    cache.put(Intent.SCIENCE, "c", ())  # evicts "b"
    assert cache.get(Intent.HISTORY, "b") is None
    assert cache.invalidate(Intent.CODE_PYTHON) == 1 and len(cache) == 1
    assert cache.get(Intent.CODE_PYTHON, "a") is None
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.as_dict()["hit_rate"]) == (1, 3, 0.25)


def test_budget_drops_exemplars_before_history_and_never_system_or_latest() -> None:
    system, latest = Message(Role.SYSTEM, "s"), Message(Role.USER, "soru")
    history = [ExchangeTurn(Message(Role.USER, "h"), Message(Role.ASSISTANT, "y"))]
    shots = [Exemplar(f"x-{i}", Intent.CODE_PYTHON, "q", "a").turn() for i in range(2)]

    def count(messages: Sequence[Message]) -> int:
        return len(messages)

    roomy = ContextBudget(8).fit(system, history, latest, count, shots)
    assert roomy.kept_exemplars == 2 and roomy.kept_turns == 1
    assert [m.content for m in roomy.messages] == ["s", "q", "a", "q", "a", "h", "y", "soru"]
    tight = ContextBudget(7).fit(system, history, latest, count, shots)  # room for one exemplar
    assert (tight.kept_exemplars, tight.kept_turns) == (1, 1)
    tighter = ContextBudget(5).fit(system, history, latest, count, shots)
    assert (tighter.kept_exemplars, tighter.kept_turns) == (0, 1)
    assert tighter.messages[0] == system and tighter.messages[-1] == latest


def test_a_correction_comes_back_for_a_similar_question_and_the_repeat_is_a_cache_hit() -> None:
    learn, recall, _, embedder = _parts()
    turn = _turn()
    assert recall.execute(Intent.CODE_PYTHON, SIMILAR).exemplars == ()  # nothing yet (cached empty)
    learn.execute(turn, Feedback(turn.id, "correction", "sorted(liste) kullan."))
    first = recall.execute(Intent.CODE_PYTHON, SIMILAR)  # the correction invalidated the intent
    assert not first.cache_hit and [e.answer for e in first.exemplars] == ["sorted(liste) kullan."]
    embedded = len(embedder.texts)
    again = recall.execute(Intent.CODE_PYTHON, "python'da  LİSTE nasil siralanir")
    assert again.cache_hit and again.exemplars == first.exemplars and len(embedder.texts) == embedded
    assert recall.execute(Intent.HISTORY, SIMILAR).exemplars == ()  # another intent's are never used
    assert recall.stats.hits == 1


def test_a_vector_given_by_the_turn_is_used_instead_of_embedding_again() -> None:
    _, recall, _, embedder = _parts()
    recall.execute(Intent.CODE_PYTHON, SIMILAR, vector=HashingEmbedder().embed([SIMILAR])[0])
    assert embedder.texts == []


def test_the_latest_verdict_wins_thumbs_down_removes_and_thumbs_up_keeps_the_reply() -> None:
    learn, recall, _, _ = _parts()
    turn = _turn(reply="list.sort() kullan.")
    assert learn.execute(turn, Feedback(turn.id, "thumbs_up")) is not None
    answers = [e.answer for e in recall.execute(Intent.CODE_PYTHON, SIMILAR).exemplars]
    assert answers == ["list.sort() kullan."]
    learn.execute(turn, Feedback(turn.id, "correction", "sorted() kullan."))
    assert [e.answer for e in recall.execute(Intent.CODE_PYTHON, SIMILAR).exemplars] == ["sorted() kullan."]
    assert learn.execute(turn, Feedback(turn.id, "thumbs_down")) is None
    assert recall.execute(Intent.CODE_PYTHON, SIMILAR).exemplars == ()


def test_a_misroute_correction_is_an_exemplar_of_the_intent_it_names() -> None:
    learn, recall, _, _ = _parts()
    turn = _turn(intent=Intent.GENERAL_CHAT)
    learn.execute(turn, Feedback(turn.id, "correction", "sorted() kullan.", intent=Intent.CODE_PYTHON))
    assert recall.execute(Intent.GENERAL_CHAT, SIMILAR).exemplars == ()
    assert len(recall.execute(Intent.CODE_PYTHON, SIMILAR).exemplars) == 1


def test_unrelated_questions_stay_below_the_floor_and_k_limits_the_pick() -> None:
    learn, recall, _, _ = _parts(ExemplarPolicy(k=1, floor=0.4))
    for prompt in (QUESTION, "Python'da liste nasıl sıralanır acaba?", "Bugün hava nasıl olacak?"):
        turn = _turn(prompt=prompt, reply="cevap")
        learn.execute(turn, Feedback(turn.id, "thumbs_up"))
    assert len(recall.execute(Intent.CODE_PYTHON, SIMILAR).exemplars) == 1
    assert recall.execute(Intent.CODE_PYTHON, "Osmanlı ne zaman kuruldu?").exemplars == ()


def test_k_zero_turns_the_dynamic_prompt_off_without_touching_the_cache() -> None:
    _, recall, cache, embedder = _parts(ExemplarPolicy(k=0))
    assert recall.execute(Intent.CODE_PYTHON, SIMILAR).exemplars == ()
    assert cache.stats.misses == 0 and embedder.texts == []


@pytest.mark.parametrize(("key", "value"),
                         [("exemplars_k", -1), ("exemplar_floor", 1.5), ("exemplar_cache", 0)])
def test_a_bad_setting_names_its_config_key(key: str, value: float) -> None:
    with pytest.raises(DomainValidationError) as raised:
        MemorySettings(**{key: value})  # type: ignore[arg-type]
    assert raised.value.field == key


def test_an_intent_without_exemplars_skips_the_store_until_one_is_learnt_or_the_wait_ends() -> None:
    now = [100.0]
    store, embedder = InMemoryVectorStore(), CountingEmbedder()
    cache = ExemplarCache(LOOSE.cache_size, empty_for=30.0, clock=lambda: now[0])
    searched: list[Intent] = []

    class Watched(InMemoryVectorStore):
        def query(self, embedding, k, where=None):  # type: ignore[no-untyped-def]
            searched.append(Intent(where["intent"]))
            return store.query(embedding, k, where)

    recall = RecallExemplars(Watched(), embedder, cache, LOOSE)
    assert recall.execute(Intent.CODE_PYTHON, QUESTION).exemplars == ()
    assert recall.execute(Intent.CODE_PYTHON, "başka bir soru").exemplars == ()
    assert searched == [Intent.CODE_PYTHON]  # the second message knew the intent was empty
    turn = _turn()
    LearnExemplar(store, embedder, cache).execute(turn, Feedback(turn.id, "thumbs_up"))
    assert recall.execute(Intent.CODE_PYTHON, SIMILAR).exemplars  # learning cleared the mark
    cache.mark_empty(Intent.HISTORY)
    now[0] += 31.0  # another process may have added some meanwhile: look again
    recall.execute(Intent.HISTORY, "Osmanlı ne zaman kuruldu?")
    assert searched[-1] is Intent.HISTORY
