"""A memory's closeness to the kinds' wording: stored by the writer, used by recall to mix the
message's own cosine into the score of candidates searched along the expansion."""

from __future__ import annotations

import math
import random

import pytest

from evotr.application.memory import RecallMemory, RememberTurn
from evotr.application.memory.ranking import HybridRanking, features_metadata
from evotr.domain.memory import MemoryHit, MemoryKind, MemoryMetadata, MemoryRecord
from evotr.domain.memory_rules import ACTIVE, STATUS, MemoryPolicy
from evotr.domain.relevance.expansion import PHRASES, PULL, kinds_pull, moved_with_length
from evotr.domain.relevance.features import features
from evotr.domain.relevance.wording import MIX, WORDING_KEY, Direction, decode_wording, encode_wording
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore

pytestmark = pytest.mark.unit
DIM = 32


def _vector(rnd: random.Random) -> list[float]:
    return [rnd.gauss(0.0, 1.0) for _ in range(DIM)]


def _cosine(a: list[float], b: list[float]) -> float:
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(math.fsum(x * x for x in a) * math.fsum(y * y for y in b))


@pytest.fixture
def wording() -> dict[str, list[float]]:
    rnd = random.Random(7)
    return {kind: _vector(rnd) for kind in PHRASES}


def test_stored_numbers_read_back_and_a_changed_or_damaged_value_is_ignored(
        wording: dict[str, list[float]]) -> None:
    memory = _vector(random.Random(1))
    value = encode_wording(memory, wording)
    assert value is not None
    stored = decode_wording(value)
    assert stored is not None and len(stored) == len(PHRASES)
    kind = sorted(PHRASES)[3]
    expected = math.fsum(x * y for x, y in zip(memory, wording[kind], strict=True)) / math.sqrt(
        math.fsum(x * x for x in memory))
    assert stored[3] == pytest.approx(expected, abs=1e-4)
    assert decode_wording("deadbeef " + value.split(" ", 1)[1]) is None  # another wording
    assert decode_wording(value.rsplit(" ", 1)[0]) is None  # a number missing
    assert decode_wording(value.replace(" ", " x", 1)) is None
    assert decode_wording(None) is None
    assert encode_wording(memory, {k: v for k, v in wording.items() if k != kind}) is None


@pytest.mark.parametrize("kinds", [("pet",), ("family", "name"), ("health", "food", "work")])
def test_the_mixed_score_is_the_mean_of_the_cosines_to_the_message_and_to_the_expansion(
        wording: dict[str, list[float]], kinds: tuple[str, ...]) -> None:
    rnd = random.Random(len(kinds))
    message = _vector(rnd)
    expansion, length = moved_with_length(message, kinds_pull(kinds, wording))
    assert expansion is not None
    direction = Direction(kinds, length, math.sqrt(math.fsum(x * x for x in message)))
    for _ in range(5):
        memory = _vector(rnd)
        along = _cosine(memory, expansion)
        mixed = direction.mixed(along, decode_wording(encode_wording(memory, wording)))
        assert mixed == pytest.approx(MIX * _cosine(memory, message) + (1 - MIX) * along, abs=1e-3)
        assert direction.mixed(along, None) == along  # nothing stored: the expansion's alone
    assert Direction((), 1.0, 1.0).mixed(0.4, (0.1,) * len(PHRASES)) == 0.4
    assert direction.pull == PULL


def test_features_metadata_adds_the_numbers_only_with_a_vector_and_the_wording(
        wording: dict[str, list[float]]) -> None:
    said = features("Kedimin adı Pamuk.")
    assert WORDING_KEY not in features_metadata(said)
    assert WORDING_KEY not in features_metadata(said, _vector(random.Random(2)))
    assert decode_wording(features_metadata(said, _vector(random.Random(2)), wording)[WORDING_KEY])


def _record(i: int, wording: dict[str, list[float]], memory: list[float]) -> MemoryRecord:
    extra = {STATUS: ACTIVE, **features_metadata(features("Bugün hava güzel."), memory, wording)}
    return MemoryRecord(f"m{i}", "Bugün hava güzel.", (),
                        MemoryMetadata("s", MemoryKind.FACT, 1.0, extra=extra).to_metadata())


def test_of_two_memories_as_close_to_the_expansion_the_one_closer_to_the_message_ranks_first(
        wording: dict[str, list[float]]) -> None:
    rnd = random.Random(3)
    message = _vector(rnd)
    kinds = ("pet",)
    expansion, length = moved_with_length(message, kinds_pull(kinds, wording))
    assert expansion is not None
    # The same cosine to the expansion: one leans to the message, one to the pet wording.
    near_message = [m + 0.8 * e for m, e in zip(message, expansion, strict=True)]
    near_wording = [w + 0.8 * e for w, e in zip(wording["pet"], expansion, strict=True)]
    hits = [MemoryHit(_record(0, wording, near_wording), 0.5),
            MemoryHit(_record(1, wording, near_message), 0.5)]
    direction = Direction(kinds, length, math.sqrt(math.fsum(x * x for x in message)))
    ranking = HybridRanking(InMemoryVectorStore())
    assert [h.record.id for h in ranking.rank(features("Hayvanım var mı?"), hits, direction)] == ["m1", "m0"]
    assert [h.record.id for h in ranking.rank(features("Hayvanım var mı?"), hits)] == ["m0", "m1"]


def test_remembered_facts_and_exchanges_carry_their_closeness_to_the_wording() -> None:
    embedder = HashingEmbedder()
    store, policy = InMemoryVectorStore(), MemoryPolicy()
    recall, remember = RecallMemory(store, embedder, policy), RememberTurn(store, policy)
    message = ("Kedimin adı Pamuk, Bursa'da yaşıyoruz; bu hafta sonu onu veterinere götürmemiz "
               "gerekiyor, aşılarının zamanı geldi, bir de mama almamız lazım, unutmayalım.")
    remember.execute(recall.execute("s1", message), "Tamam!", "s1")
    records = store.find()
    assert {r.metadata.get("kind") for r in records} == {"fact", "exchange"}
    wording = recall.wording()
    for record in records:
        stored = decode_wording(record.metadata.get(WORDING_KEY))
        assert stored is not None
        kind = sorted(PHRASES).index("pet")
        assert stored[kind] == pytest.approx(_cosine(list(record.embedding), wording["pet"]) * math.sqrt(
            math.fsum(x * x for x in wording["pet"])), abs=1e-3)
