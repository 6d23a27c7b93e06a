"""Every FeedbackRepository behaves the same: SQLite on a real file and the in-memory one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from evotr.application.errors import DuplicateTurnError, UnknownTurnError
from evotr.domain.adapters import AdapterVersion
from evotr.domain.errors import EvoTrError
from evotr.domain.feedback import Feedback, FeedbackKind, FeedbackStats
from evotr.domain.intents import Intent
from evotr.domain.turns import TurnId, TurnRecord, new_turn_id
from evotr.infrastructure.memory.feedback_repository import InMemoryFeedbackRepository
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository
from evotr.ports.feedback_repository import FeedbackRepository

pytestmark = pytest.mark.integration

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "memory"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FeedbackRepository]:
    if request.param == "sqlite":
        sqlite_repo = SqliteFeedbackRepository(tmp_path / "evotr.db")
        yield sqlite_repo
        sqlite_repo.close()
    else:
        yield InMemoryFeedbackRepository()


def _turn(n: int = 0, *, session_id: str = "default", at: datetime | None = None,
          **changes: object) -> TurnRecord:
    fields: dict[str, object] = {
        "prompt": f"Osmanlı tarihi anlat {n}",
        "reply": f"yanıt {n}",
        "intent": Intent.HISTORY,
        "confidence": 0.93,
        "session_id": session_id,
        "created_at": at or T0 + timedelta(seconds=n),
    }
    fields.update(changes)
    return TurnRecord(**fields)  # type: ignore[arg-type]


def _stored_turn(repo: FeedbackRepository, n: int = 0, **changes: Any) -> TurnId:
    return repo.add_turn(_turn(n, **changes))


def test_implements_the_port(repo: FeedbackRepository) -> None:
    assert isinstance(repo, FeedbackRepository)


def test_initialize_is_idempotent_and_starts_empty(repo: FeedbackRepository) -> None:
    repo.initialize()
    repo.initialize()
    assert repo.stats() == FeedbackStats()
    assert repo.recent_turns() == []
    assert list(repo.list_feedback()) == []


def test_turn_round_trips_every_field(repo: FeedbackRepository) -> None:
    turn = TurnRecord(
        prompt="Python'da liste üreteci nedir? 🐍",
        reply="Şöyle: [x * 2 for x in range(3)] — çğıöşü ÇĞİÖŞÜ",
        intent=Intent.CODE_PYTHON,
        confidence=0.7123456789012345,
        fallback=True,
        adapter=AdapterVersion.parse("tr_chat_v12"),
        session_id="oturum-ş",
        source="web",
        timings_ms={"route": 1.25, "generate": 1234.5678901234567},
        created_at=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=3))),
    )
    assert repo.add_turn(turn) == turn.id
    loaded = repo.get_turn(turn.id)
    assert loaded == turn
    assert loaded is not None
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at == datetime(2025, 1, 2, 0, 4, 5, 678901, tzinfo=UTC)
    assert loaded.adapter == AdapterVersion.parse("tr_chat_v12")
    assert loaded.intent is Intent.CODE_PYTHON
    assert loaded.fallback is True
    assert dict(loaded.timings_ms) == {"route": 1.25, "generate": 1234.5678901234567}


def test_turn_without_adapter_or_timings_round_trips(repo: FeedbackRepository) -> None:
    turn = _turn(1, fallback=False, adapter=None, reply="")
    repo.add_turn(turn)
    loaded = repo.get_turn(turn.id)
    assert loaded == turn
    assert loaded is not None and loaded.adapter is None and dict(loaded.timings_ms) == {}


def test_unknown_turn_is_none(repo: FeedbackRepository) -> None:
    _stored_turn(repo)
    assert repo.get_turn(new_turn_id()) is None


def test_same_turn_id_twice_is_refused_and_first_kept(repo: FeedbackRepository) -> None:
    first = _turn(0)
    repo.add_turn(first)
    with pytest.raises(DuplicateTurnError, match=first.id):
        repo.add_turn(_turn(1, id=first.id))
    assert repo.get_turn(first.id) == first
    assert len(repo.recent_turns()) == 1


def test_recent_turns_newest_first_with_limit(repo: FeedbackRepository) -> None:
    # Inserted out of time order: the order must come from created_at, not insertion.
    ids = {n: _stored_turn(repo, n) for n in (3, 0, 4, 1, 2)}
    assert [t.id for t in repo.recent_turns()] == [ids[n] for n in (4, 3, 2, 1, 0)]
    assert [t.id for t in repo.recent_turns(limit=2)] == [ids[4], ids[3]]
    assert repo.recent_turns(limit=0) == []


def test_recent_turns_same_time_latest_inserted_first(repo: FeedbackRepository) -> None:
    ids = [_stored_turn(repo, n, at=T0) for n in range(3)]
    assert [t.id for t in repo.recent_turns()] == ids[::-1]


def test_recent_turns_default_limit_is_20(repo: FeedbackRepository) -> None:
    ids = [_stored_turn(repo, n) for n in range(25)]
    assert [t.id for t in repo.recent_turns()] == ids[::-1][:20]


def test_recent_turns_session_filter(repo: FeedbackRepository) -> None:
    a = [_stored_turn(repo, n, session_id="a") for n in (0, 2, 4)]
    b = [_stored_turn(repo, n, session_id="b") for n in (1, 3)]
    assert [t.id for t in repo.recent_turns(session_id="a")] == a[::-1]
    assert [t.id for t in repo.recent_turns(session_id="b", limit=1)] == [b[1]]
    assert repo.recent_turns(session_id="nobody") == []
    assert len(repo.recent_turns(limit=100)) == 5


def test_feedback_round_trip_with_turkish_and_emoji(repo: FeedbackRepository) -> None:
    turn_id = _stored_turn(repo)
    text = "Doğru yanıt: İstanbul'un fethi 1453'te oldu 🇹🇷👍 — ğüşıöç ĞÜŞİÖÇ\n\"tırnak\" 'tek'"
    feedback = Feedback(turn_id, FeedbackKind.CORRECTION, text, "web", T0 + timedelta(minutes=1))
    feedback_id = repo.add_feedback(feedback)
    assert isinstance(feedback_id, int)
    assert list(repo.list_feedback()) == [feedback]
    assert repo.list_feedback()[0].correction == text


def test_feedback_ids_are_distinct_and_increasing(repo: FeedbackRepository) -> None:
    turn_id = _stored_turn(repo)
    ids = [repo.add_feedback(Feedback(turn_id, FeedbackKind.THUMBS_UP)) for _ in range(5)]
    assert ids == sorted(set(ids))


def test_feedback_created_at_is_stored_as_utc(repo: FeedbackRepository) -> None:
    turn_id = _stored_turn(repo)
    local = datetime(2025, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=3)))
    repo.add_feedback(Feedback(turn_id, "thumbs_down", created_at=local))
    (stored,) = repo.list_feedback()
    assert stored.created_at == local
    assert stored.created_at.utcoffset() == timedelta(0)
    assert stored.kind is FeedbackKind.THUMBS_DOWN


def test_list_feedback_oldest_first_and_filtered(repo: FeedbackRepository) -> None:
    turns = [_stored_turn(repo, n) for n in range(4)]
    given = [
        Feedback(turns[0], "correction", "ikinci", created_at=T0 + timedelta(hours=2)),
        Feedback(turns[1], "thumbs_up", created_at=T0 + timedelta(hours=3)),
        Feedback(turns[2], "correction", "birinci", created_at=T0 + timedelta(hours=1)),
        Feedback(turns[3], "thumbs_down", created_at=T0),
    ]
    for feedback in given:
        repo.add_feedback(feedback)
    assert list(repo.list_feedback()) == [given[3], given[2], given[0], given[1]]
    assert list(repo.list_feedback(FeedbackKind.CORRECTION)) == [given[2], given[0]]
    assert list(repo.list_feedback(FeedbackKind.THUMBS_UP)) == [given[1]]
    assert list(repo.list_feedback(FeedbackKind.THUMBS_DOWN)) == [given[3]]


def test_list_feedback_same_time_in_insertion_order(repo: FeedbackRepository) -> None:
    turn_id = _stored_turn(repo)
    given = [Feedback(turn_id, "correction", f"düzeltme {n}", created_at=T0) for n in range(4)]
    for feedback in given:
        repo.add_feedback(feedback)
    assert list(repo.list_feedback()) == given


def test_stats_counts_each_kind(repo: FeedbackRepository) -> None:
    turns = [_stored_turn(repo, n) for n in range(6)]
    kinds = ["correction", "correction", "thumbs_down", "thumbs_down", "thumbs_down", "thumbs_up"]
    for turn_id, kind in zip(turns, kinds, strict=True):
        repo.add_feedback(Feedback(turn_id, kind, "düzelt" if kind == "correction" else None))
    stats = repo.stats()
    assert stats == FeedbackStats(thumbs_up=1, thumbs_down=3, corrections=2)
    assert stats.total == 6


def test_feedback_on_unknown_turn_is_refused_and_nothing_written(repo: FeedbackRepository) -> None:
    known = _stored_turn(repo)
    repo.add_feedback(Feedback(known, "thumbs_up"))
    ghost = new_turn_id()
    with pytest.raises(UnknownTurnError) as caught:
        repo.add_feedback(Feedback(ghost, "correction", "boşa gider"))
    assert ghost in str(caught.value)
    assert caught.value.turn_id == ghost
    assert isinstance(caught.value, EvoTrError)
    assert repo.stats() == FeedbackStats(thumbs_up=1)
    assert [f.turn_id for f in repo.list_feedback()] == [known]
    assert repo.get_turn(ghost) is None


def test_feedback_does_not_change_the_turn(repo: FeedbackRepository) -> None:
    turn = _turn(0)
    repo.add_turn(turn)
    repo.add_feedback(Feedback(turn.id, "correction", "daha iyi yanıt"))
    assert repo.get_turn(turn.id) == turn


def test_verdicts_after_a_row_are_each_touched_turns_latest(repo: FeedbackRepository) -> None:
    a, b, c = (_stored_turn(repo, n) for n in range(3))
    assert repo.latest_feedback_id() == 0 and repo.verdicts_after(0) == []
    first = repo.add_feedback(Feedback(a, FeedbackKind.THUMBS_UP, created_at=T0))
    repo.add_feedback(Feedback(b, FeedbackKind.THUMBS_UP, created_at=T0))
    # Stored later but dated earlier: a's latest verdict is still the 👍 (time first).
    repo.add_feedback(Feedback(a, FeedbackKind.THUMBS_DOWN, created_at=T0 - timedelta(hours=1)))
    last = repo.add_feedback(Feedback(c, FeedbackKind.CORRECTION, "düzeltme", created_at=T0))
    assert repo.latest_feedback_id() == last
    assert [(t.id, f.kind) for t, f in repo.verdicts_after(first)] == [
        (a, FeedbackKind.THUMBS_UP), (b, FeedbackKind.THUMBS_UP), (c, FeedbackKind.CORRECTION)]
    assert [t.id for t, _ in repo.verdicts_after(last - 1)] == [c]
    assert repo.verdicts_after(last) == []


def test_a_sync_mark_starts_at_zero_and_never_goes_back(repo: FeedbackRepository) -> None:
    assert repo.sync_mark("exemplars") == 0
    repo.advance_sync_mark("exemplars", 7)
    repo.advance_sync_mark("exemplars", 5)  # a slower process finishing an older sync
    assert repo.sync_mark("exemplars") == 7
    assert repo.sync_mark("other") == 0
