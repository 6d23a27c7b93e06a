"""`feedback.auto_train`: a correction that opens a family's gate starts `feedback train` in the background.

The gate "opens" when the family has at least ``min_corrections`` corrections that no earlier
`feedback train` run of the family used (its last decision in the history names the turns it
used): the first run after ten corrections, the next after ten more. Failed runs record no
decision, so the next correction tries again. A lock lets only one run go at a time; chat keeps
answering with the current adapter, and picks up a promoted one at its next message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs

from evotr.application.learning.feedback_train import last_feedback_run
from evotr.domain.adapter_history import HistoryEvent
from evotr.domain.adapters import AdapterFamily
from evotr.domain.errors import EvoTrError
from evotr.domain.feedback import FeedbackKind
from evotr.domain.feedback_training import family_corrections
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.learning import FeedbackExample
from evotr.domain.turns import TurnId
from evotr.ports.adapter_history import AdapterHistory
from evotr.ports.background_training import BackgroundRun, BackgroundTraining
from evotr.ports.feedback_repository import FeedbackRepository

logger = logging.getLogger("evotr.auto_train")


@attrs.frozen(slots=True)
class AutoTrainState:
    """Whether auto-training is on, the run in progress, and the last decision in the history."""

    enabled: bool
    running: BackgroundRun | None
    last: HistoryEvent | None

    def describe(self) -> str:
        """One line for `feedback stats` and `/stats`."""
        head = "auto-train: " + ("on" if self.enabled else "off (feedback.auto_train: false)")
        if self.running is not None:
            pid = f", pid {self.running.pid}" if self.running.pid else ""
            log = f", log {self.running.log}" if self.running.log else ""
            head += (f"; running for {self.running.family} since "
                     f"{self.running.started_at.astimezone().isoformat(timespec='seconds')}{pid}{log}")
        if self.last is not None:
            head += (f"; last run {self.last.when.astimezone().isoformat(timespec='seconds')}: "
                     f"{self.last.summary}")
        return head

    def as_dict(self) -> dict[str, object]:
        """The JSON shape under ``auto_train`` in `feedback stats --json`."""
        run = self.running
        return {"enabled": self.enabled,
                "running": None if run is None else {
                    "family": run.family, "since": run.started_at.isoformat(), "pid": run.pid,
                    "log": run.log},
                "last": None if self.last is None else self.last.as_dict()}


class AutoTrain:
    """Starts a background run when a correction opens its family's gate; reports the state."""

    def __init__(self, repository: FeedbackRepository, mapping: IntentMapping, history: AdapterHistory,
                 background: BackgroundTraining, min_corrections: int, enabled: bool) -> None:
        self._repository = repository
        self._mapping = mapping
        self._history = history
        self._background = background
        self._min = min_corrections
        self._enabled = enabled

    def after_feedback(self, turn_id: TurnId | str) -> BackgroundRun | None:
        """Called after a verdict is stored: start a run if it was a correction that opened the gate.

        The verdict is already stored, so a problem here (a damaged history file, a home that
        cannot start processes) is logged, never raised: the user's feedback did not fail.
        """
        if not self._enabled:
            return None
        try:
            return self._after_feedback(turn_id)
        except EvoTrError as exc:
            logger.warning("automatic training not started: %s", exc)
            return None

    def _after_feedback(self, turn_id: TurnId | str) -> BackgroundRun | None:
        examples = self._repository.judged_turns()
        judged = next((e for e in examples if e.turn_id == turn_id), None)
        if judged is None or judged.kind is not FeedbackKind.CORRECTION:
            return None
        family = self._mapping.family_for(judged.intent)
        if self.unused_corrections(family, examples) < self._min:
            return None
        return self._background.start(family.name)

    def unused_corrections(self, family: AdapterFamily,
                           examples: Sequence[FeedbackExample] | None = None) -> int:
        """The family's corrections that its last `feedback train` run did not use."""
        judged = self._repository.judged_turns() if examples is None else examples
        found = family_corrections(judged, self._mapping, family)
        last = last_feedback_run(self._history, family)
        used: set[str] = set()
        turns = last.details.get("feedback_turns") if last is not None else None
        if isinstance(turns, dict):
            for side in turns.values():
                if isinstance(side, list):
                    used.update(str(t) for t in side)
        return sum(1 for e in found if e.turn_id not in used)

    def state(self) -> AutoTrainState:
        """The setting, the run holding the lock (if any) and the latest decision."""
        try:
            runs = [e for e in self._history.events() if e.event == "feedback_train"]
        except EvoTrError:
            runs = []  # a damaged history must not stop `feedback stats`
        return AutoTrainState(self._enabled, self._background.current(), runs[-1] if runs else None)
