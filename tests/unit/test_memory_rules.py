"""Memory rules without a store: merge or supersede, recall order and budget, eviction, limits."""

from __future__ import annotations

import pytest

from evotr.domain.errors import DomainValidationError
from evotr.domain.facts import extract_facts
from evotr.domain.memory import MemoryHit, MemoryKind, MemoryRecord
from evotr.domain.memory_rules import (
    EXCHANGES_HEADER,
    FACTS_HEADER,
    SLOT,
    VALUE_KEY,
    MemoryPolicy,
    Recalled,
    decide,
    exchange_text,
    least_recently_recalled,
    near_duplicate,
    render,
    select,
)

pytestmark = pytest.mark.unit


def stored(record_id: str, text: str, score: float = 0.5, **meta: object) -> MemoryHit:
    return MemoryHit(MemoryRecord(record_id, text, [1.0, 0.0], dict(meta)), score)  # type: ignore[arg-type]


def fact_hit(record_id: str, sentence: str, score: float = 0.5) -> MemoryHit:
    [fact] = extract_facts(sentence)
    return stored(record_id, fact.text, score, **{SLOT: fact.slot.value, VALUE_KEY: fact.value_key})


def test_the_same_value_merges_whatever_its_spelling() -> None:
    [new] = extract_facts("IZMIRDE YASIYORUM")
    assert decide(new, [fact_hit("a", "İzmir'de yaşıyorum")]).merge_into == "a"


def test_another_value_in_a_one_value_slot_supersedes() -> None:
    [new] = extract_facts("Artık İzmir'de yaşıyorum")
    decision = decide(new, [fact_hit("a", "Ankara'da yaşıyorum")])
    assert decision.merge_into is None and decision.supersede == ("a",)


def test_many_value_slots_add_and_the_opposite_supersedes() -> None:
    [sushi] = extract_facts("Sushi severim")
    assert decide(sushi, [fact_hit("p", "Pizzayı severim")]).supersede == ()
    [no_pizza] = extract_facts("Pizza sevmem")
    liked = [fact_hit("p", "Pizzayı severim"), fact_hit("s", "Sushi severim")]
    assert decide(no_pizza, liked).supersede == ("p",)


def test_a_near_duplicate_like_merges_only_above_the_threshold() -> None:
    [new] = extract_facts("Kitap okumayı severim")
    close = fact_hit("k", "Kitap okumak severim", score=0.95)
    assert near_duplicate(new, [close], 0.9) == "k"
    assert near_duplicate(new, [close], 0.99) is None
    [name] = extract_facts("Adım Kaan")
    assert near_duplicate(name, [fact_hit("n", "Adım Kaan", 1.0)], 0.5) is None  # one-value slots never


def test_recall_puts_asked_facts_first_then_similar_facts_then_other_sessions_exchanges() -> None:
    policy = MemoryPolicy(recall_k=2, floor=0.3)
    asked = [MemoryRecord("f1", "Kullanıcının adı: Kaan", [1.0])]
    facts = [stored("f1", "x", 0.9), stored("f2", "Kullanıcının yaşı: 30", 0.5), stored("f3", "low", 0.1)]
    exchanges = [stored("e1", "mine", 0.8, session="now"), stored("e2", "old", 0.7, session="before"),
                 stored("e3", "older", 0.6, session="before"), stored("e4", "third", 0.55, session="x")]
    chosen = select(asked, facts, exchanges, "now", policy)
    assert [(c.id, c.reason) for c in chosen] == [("f1", "asked"), ("f2", "similar"), ("e2", "similar"),
                                                  ("e3", "similar")]


def test_the_block_keeps_to_its_budget_and_skips_what_does_not_fit() -> None:
    items = [Recalled("f1", MemoryKind.FACT, "Kullanıcının adı: Kaan", 1.0),
             Recalled("e1", MemoryKind.EXCHANGE, "x" * 500, 0.9),
             Recalled("e2", MemoryKind.EXCHANGE, "kısa", 0.8)]
    block, used = render(items, 120)
    assert len(block) <= 120 and [u.id for u in used] == ["f1", "e2"]
    assert block == f"{FACTS_HEADER}\n- Kullanıcının adı: Kaan\n{EXCHANGES_HEADER}\n- kısa"
    for budget in range(1, 200):
        assert len(render(items, budget)[0]) <= budget
    assert render(items, 10) == ("", [])


def test_eviction_takes_the_least_recently_recalled_and_leaves_slack() -> None:
    records = [MemoryRecord(i, i, [1.0], {"time": t, "last_recalled": r})
               for i, t, r in [("a", 1, 9), ("b", 2, 2), ("c", 3, 3), ("d", 4, 8)]]
    assert least_recently_recalled(records, 2) == ["b", "c"]
    assert MemoryPolicy(cap=3).evict_count(3) == 0 and MemoryPolicy(cap=3).evict_count(4) == 1
    assert MemoryPolicy(cap=10_000).evict_count(10_001) == 101


def test_an_exchange_is_stored_flat_and_cut() -> None:
    text = exchange_text("Soru\nçok satırlı", "y" * 1_000)
    assert "\n" not in text and text.startswith("Kullanıcı: Soru çok satırlı → Asistan: ") and len(text) < 400


@pytest.mark.parametrize(("field", "value"), [("cap", 0), ("recall_chars", -1), ("floor", 1.5),
                                              ("merge_threshold", "high"), ("recall_k", True)])
def test_bad_limits_name_their_field(field: str, value: object) -> None:
    with pytest.raises(DomainValidationError) as error:
        MemoryPolicy(**{field: value})  # type: ignore[arg-type]
    assert error.value.field == field
