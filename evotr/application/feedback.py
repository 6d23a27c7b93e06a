"""Use cases: record feedback on a turn; report feedback stats and the training gate."""

from __future__ import annotations

import attrs

from evotr.application.errors import UnknownTurnError
from evotr.application.exemplar_sync import SyncExemplars
from evotr.domain.exemplar_cache import CacheStats
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
            # The dynamic prompt's cache over every stored chat turn (its timings record it).
            "exemplar_cache": self.cache.as_dict(),
        }

    @property
    def cache(self) -> CacheStats:
        """The few-shot exemplar cache's hits and misses over stored turns."""
        return CacheStats(self.stats.cache_hits, self.stats.cache_misses)


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

    A second verdict on the same turn is stored too: the latest one counts (stats, training,
    the turn's few-shot exemplar), the earlier ones stay as its history.
    """

    def __init__(self, repository: FeedbackRepository, learned: LearnedRoutes | None = None,
                 exemplars: SyncExemplars | None = None) -> None:
        self._repository = repository
        self._learned = learned
        self._exemplars = exemplars

    def execute(
        self,
        turn_id: str,
        kind: FeedbackKind | str,
        correction: str | None = None,
        source: str = "cli",
        intent: Intent | str | None = None,
        index: bool = True,
    ) -> int:
        """Validate and store; returns the feedback row id. Unknown turns are rejected.

        ``intent`` (corrections only) names the intent the message should have been routed to:
        the message is added to the router's learned examples, which it trains on at its next
        start. The feedback is stored first, so a failure to record the example loses nothing.
        A 👍 or a correction also makes the turn a few-shot exemplar of its intent (a 👎 removes
        it), so the very next similar question is answered with it in the prompt. With ``index``
        False (a one-shot command that answers nothing) that is left to the next process that
        answers (exemplar_sync.py), which spares loading the embedder and the vector store.
        """
        feedback = Feedback(parse_turn_id(turn_id), kind, correction, source, intent=intent)
        feedback_id = self._repository.add_feedback(feedback)
        if feedback.intent is not None and self._learned is not None:
            turn = self._repository.get_turn(feedback.turn_id)
            if turn is None:  # deleted between the two calls: nothing left to learn from
                raise UnknownTurnError(feedback.turn_id)
            self._learned.add(turn.prompt, feedback.intent)
        if index and self._exemplars is not None:
            self._exemplars.execute()
        return feedback_id
