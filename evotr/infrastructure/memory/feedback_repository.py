"""A dict-backed FeedbackRepository that behaves like the SQLite one, minus the file."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from datetime import UTC

import attrs

from evotr.application.errors import DuplicateTurnError, UnknownTurnError
from evotr.domain.feedback import CACHE_HIT_TIMING, Feedback, FeedbackKind, FeedbackStats, to_feedback_kind
from evotr.domain.judged_turn import judged_example, latest_verdicts
from evotr.domain.learning import FeedbackExample
from evotr.domain.turns import TurnId, TurnRecord
from evotr.ports.feedback_repository import FeedbackRepository


class InMemoryFeedbackRepository(FeedbackRepository):
    """Turns and feedback in dicts; thread-safe, lost when the process ends."""

    def __init__(self) -> None:
        # Each turn keeps its insertion number: it breaks created_at ties, as rowid does in SQLite.
        self._turns: dict[TurnId, tuple[int, TurnRecord]] = {}
        self._feedback: dict[int, Feedback] = {}
        self._turn_numbers = itertools.count(1)
        self._feedback_ids = itertools.count(1)
        self._marks: dict[str, int] = {}
        self._lock = threading.Lock()

    def initialize(self) -> None:
        """Nothing to create; present so callers need not know the backend."""

    def check_writable(self) -> None:
        """Memory can always be written."""

    def add_turn(self, turn: TurnRecord) -> TurnId:
        """Store a turn; a second turn with the same id is refused."""
        stored = attrs.evolve(turn, created_at=turn.created_at.astimezone(UTC))
        with self._lock:
            if turn.id in self._turns:
                raise DuplicateTurnError(turn.id)
            self._turns[turn.id] = (next(self._turn_numbers), stored)
        return turn.id

    def get_turn(self, turn_id: TurnId) -> TurnRecord | None:
        """The stored turn, or None."""
        with self._lock:
            entry = self._turns.get(turn_id)
        return None if entry is None else entry[1]

    def recent_turns(self, limit: int = 20, session_id: str | None = None) -> list[TurnRecord]:
        """Up to ``limit`` turns, newest first; only ``session_id``'s when given."""
        if limit < 1:
            return []
        with self._lock:
            entries = [e for e in self._turns.values() if session_id in (None, e[1].session_id)]
        entries.sort(key=lambda e: (e[1].created_at, e[0]), reverse=True)
        return [turn for _, turn in entries[:limit]]

    def add_feedback(self, feedback: Feedback) -> int:
        """Store feedback on a stored turn and return its id; unknown turns are refused."""
        stored = attrs.evolve(feedback, created_at=feedback.created_at.astimezone(UTC))
        with self._lock:
            if feedback.turn_id not in self._turns:
                raise UnknownTurnError(feedback.turn_id)
            feedback_id = next(self._feedback_ids)
            self._feedback[feedback_id] = stored
        return feedback_id

    def list_feedback(self, kind: FeedbackKind | None = None) -> Sequence[Feedback]:
        """Stored feedback, oldest first (ties in insertion order), optionally of one kind."""
        wanted = None if kind is None else to_feedback_kind(kind)
        with self._lock:
            items = [(f.created_at, i, f) for i, f in self._feedback.items()
                     if wanted is None or f.kind is wanted]
        items.sort(key=lambda item: item[:2])
        return [f for _, _, f in items]

    def stats(self) -> FeedbackStats:
        """Judged turns by their latest verdict (a changed verdict counts once)."""
        kinds = [f.kind for f in latest_verdicts(self.list_feedback()).values()]
        with self._lock:
            flags = [t.timings_ms.get(CACHE_HIT_TIMING) for _, t in self._turns.values()]
        return FeedbackStats(
            thumbs_up=kinds.count(FeedbackKind.THUMBS_UP),
            thumbs_down=kinds.count(FeedbackKind.THUMBS_DOWN),
            corrections=kinds.count(FeedbackKind.CORRECTION),
            cache_hits=flags.count(1.0), cache_misses=flags.count(0.0),
        )

    def judged_turns(self) -> Sequence[FeedbackExample]:
        """Every judged turn with its latest verdict and the messages it was sent, oldest turn first."""
        latest = latest_verdicts(self.list_feedback())
        with self._lock:
            entries = sorted((self._turns[t] for t in latest), key=lambda e: (e[1].created_at, e[0]))
        found = (judged_example(turn, latest[turn.id]) for _, turn in entries)
        return [example for example in found if example is not None]

    def latest_feedback_id(self) -> int:
        """The newest feedback's id, 0 when there is none."""
        with self._lock:
            return max(self._feedback, default=0)

    def verdicts_after(self, feedback_id: int) -> Sequence[tuple[TurnRecord, Feedback]]:
        """Each turn with feedback after ``feedback_id``, and its latest verdict, oldest first."""
        with self._lock:
            # The latest verdict: time first, then insertion order (as the SQLite query).
            latest: dict[TurnId, tuple[int, Feedback]] = {}
            for i, f in sorted(self._feedback.items(), key=lambda item: (item[1].created_at, item[0])):
                latest[f.turn_id] = (i, f)
            touched = {f.turn_id for i, f in self._feedback.items() if i > feedback_id}
            chosen = sorted((latest[t] for t in touched), key=lambda item: item[0])
            return [(self._turns[f.turn_id][1], f) for _, f in chosen]

    def sync_mark(self, name: str) -> int:
        """How far ``name`` has applied the feedback (0 at first)."""
        with self._lock:
            return self._marks.get(name, 0)

    def advance_sync_mark(self, name: str, feedback_id: int) -> None:
        """Move ``name``'s mark up to ``feedback_id``, never back."""
        with self._lock:
            self._marks[name] = max(self._marks.get(name, 0), feedback_id)
