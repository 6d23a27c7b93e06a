"""Persists turns and the feedback on them (one store for every entrypoint)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from evotr.domain.feedback import Feedback, FeedbackKind, FeedbackStats
from evotr.domain.learning import FeedbackExample
from evotr.domain.turns import TurnId, TurnRecord


@runtime_checkable
class FeedbackRepository(Protocol):
    """Turns and feedback; each write is atomic and safe with other writers."""

    def initialize(self) -> None:
        """Create or migrate the storage (idempotent)."""
        ...

    def check_writable(self) -> None:
        """Raise an EvoTrError naming the store if a turn could not be written now; write nothing."""
        ...

    def add_turn(self, turn: TurnRecord) -> TurnId:
        """Store a turn and return its id."""
        ...

    def get_turn(self, turn_id: TurnId) -> TurnRecord | None:
        """A stored turn, or None."""
        ...

    def recent_turns(self, limit: int = 20, session_id: str | None = None) -> list[TurnRecord]:
        """Newest turns first."""
        ...

    def add_feedback(self, feedback: Feedback) -> int:
        """Store feedback on an existing turn; an unknown turn id is an error."""
        ...

    def list_feedback(self, kind: FeedbackKind | None = None) -> Sequence[Feedback]:
        """Stored feedback, oldest first, optionally of one kind."""
        ...

    def stats(self) -> FeedbackStats:
        """Counts by kind."""
        ...

    def judged_turns(self) -> Sequence[FeedbackExample]:
        """Every turn with feedback: its latest verdict and the messages it was sent, oldest first."""
        ...

    def latest_feedback_id(self) -> int:
        """The newest feedback row's id (0 when there is none); ids only grow."""
        ...

    def verdicts_after(self, feedback_id: int) -> Sequence[tuple[TurnRecord, Feedback]]:
        """Each turn given feedback after row ``feedback_id``, with its current (latest) verdict."""
        ...

    def sync_mark(self, name: str) -> int:
        """How far the derived index ``name`` has applied the feedback (a row id; 0 at first)."""
        ...

    def advance_sync_mark(self, name: str, feedback_id: int) -> None:
        """Record that ``name`` applied every row up to ``feedback_id``; a mark never goes back."""
        ...
