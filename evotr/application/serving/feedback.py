"""Use case: feedback sent over HTTP — the same rules as the CLI's, and the same automatic training."""

from __future__ import annotations

import attrs

from evotr.application.feedback import RecordFeedback
from evotr.application.learning.auto_train import AutoTrain
from evotr.application.serving.completion import SOURCES
from evotr.domain.errors import DomainValidationError
from evotr.ports.background_training import BackgroundRun


@attrs.frozen(slots=True)
class FeedbackReceipt:
    """The stored row's id, and the background training run it started, if any."""

    feedback_id: int
    training_started: BackgroundRun | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON answer of ``POST /v1/feedback``."""
        run = self.training_started
        return {"id": self.feedback_id, "stored": True,
                "training_started": None if run is None else {"family": run.family, "pid": run.pid}}


class GiveFeedback:
    """Stores 👍, 👎 or a correction on a turn; a correction may start `feedback train` (auto_train)."""

    def __init__(self, record: RecordFeedback, auto_train: AutoTrain | None = None) -> None:
        self._record = record
        self._auto_train = auto_train

    def execute(self, turn_id: str, kind: str, text: str | None = None, source: str = "api",
                intent: str | None = None) -> FeedbackReceipt:
        """Validate and store; errors name the field (unknown turns are UnknownTurnError)."""
        if source not in SOURCES:
            raise DomainValidationError("source", f"must be one of {', '.join(SOURCES)}, got {source!r}")
        stored = self._record.execute(turn_id, kind, text, source, intent)
        started = None if self._auto_train is None else self._auto_train.after_feedback(turn_id)
        return FeedbackReceipt(stored, started)
