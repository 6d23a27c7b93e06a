"""Use cases: record feedback on a turn; report feedback stats and the training gate."""

from __future__ import annotations

import attrs

from evotr.application.errors import UnknownTurnError
from evotr.domain.feedback import Feedback, FeedbackKind, FeedbackStats, GateStatus, TrainingGate
from evotr.domain.intents import Intent
from evotr.domain.turns import parse_turn_id
from evotr.ports.feedback_repository import FeedbackRepository
from evotr.ports.learned_routes import LearnedRoutes


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
    """Stores 👍, 👎 or a correction for an existing turn; a misroute also teaches the router.

    A second verdict on the same turn is stored too: the latest one counts (stats, training),
    the earlier ones stay as its history.
    """

    def __init__(self, repository: FeedbackRepository, learned: LearnedRoutes | None = None) -> None:
        self._repository = repository
        self._learned = learned

    def execute(
        self,
        turn_id: str,
        kind: FeedbackKind | str,
        correction: str | None = None,
        source: str = "cli",
        intent: Intent | str | None = None,
    ) -> int:
        """Validate and store; returns the feedback row id. Unknown turns are rejected.

        ``intent`` (corrections only) names the intent the message should have been routed to:
        the message is added to the router's learned examples, which it trains on at its next
        start. The feedback is stored first, so a failure to record the example loses nothing.
        """
        feedback = Feedback(parse_turn_id(turn_id), kind, correction, source, intent=intent)
        feedback_id = self._repository.add_feedback(feedback)
        if feedback.intent is not None and self._learned is not None:
            turn = self._repository.get_turn(feedback.turn_id)
            if turn is None:  # deleted between the two calls: nothing left to learn from
                raise UnknownTurnError(feedback.turn_id)
            self._learned.add(turn.prompt, feedback.intent)
        return feedback_id
