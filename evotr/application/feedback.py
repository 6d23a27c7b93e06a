"""Use cases: record feedback on a turn; report feedback stats and the training gate."""

from __future__ import annotations

import attrs

from evotr.domain.feedback import Feedback, FeedbackKind, FeedbackStats, GateStatus, TrainingGate
from evotr.domain.turns import parse_turn_id
from evotr.ports.feedback_repository import FeedbackRepository


@attrs.frozen(slots=True)
class FeedbackReport:
    """Stats plus what the training gate says about them."""

    stats: FeedbackStats
    gate: GateStatus

    def as_dict(self) -> dict[str, object]:
        """The JSON shape `evotr feedback stats --json` prints."""
        return {
            "total": self.stats.total,
            "corrections": self.stats.corrections,
            "thumbs_down": self.stats.thumbs_down,
            "thumbs_up": self.stats.thumbs_up,
            "min_corrections": self.gate.min_corrections,
            "corrections_needed": self.gate.missing,
            "ready_for_training": self.gate.ready,
            "message": self.gate.describe(),
        }


class GetFeedbackStats:
    """Counts feedback by kind and evaluates the training gate."""

    def __init__(self, repository: FeedbackRepository, gate: TrainingGate) -> None:
        self._repository = repository
        self._gate = gate

    def execute(self) -> FeedbackReport:
        """Read the stats once and judge them."""
        stats = self._repository.stats()
        return FeedbackReport(stats, self._gate.evaluate(stats))


class RecordFeedback:
    """Stores 👍, 👎 or a correction for an existing turn."""

    def __init__(self, repository: FeedbackRepository) -> None:
        self._repository = repository

    def execute(
        self,
        turn_id: str,
        kind: FeedbackKind | str,
        correction: str | None = None,
        source: str = "cli",
    ) -> int:
        """Validate and store; returns the feedback row id. Unknown turns are rejected."""
        feedback = Feedback(parse_turn_id(turn_id), kind, correction, source)
        return self._repository.add_feedback(feedback)
