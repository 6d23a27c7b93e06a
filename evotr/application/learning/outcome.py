"""What one `feedback train` run for a family produced, and its JSON shape (``--json``, manifests)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from evotr.domain.feedback_training import TrainingPlan
from evotr.domain.learning import PreferenceMetrics
from evotr.domain.promotion import GateDecision
from evotr.domain.training import TrainingMetrics


@attrs.frozen(slots=True)
class FeedbackTrainOutcome:
    """One family's run: its plan and, unless a dry run, the metrics, decision and folder."""

    plan: TrainingPlan
    trained: bool
    decision: GateDecision | None = None
    sft: TrainingMetrics | None = None
    dpo: PreferenceMetrics | None = None
    folder: str | None = None
    replay: Mapping[str, object] | None = None
    # Every strength the gate judged, in order: {"strength", "passed", "reasons"}.
    blends: tuple[Mapping[str, object], ...] = ()

    @property
    def promoted(self) -> bool:
        """Whether the new version is now active."""
        return self.decision is not None and self.decision.promote

    def as_dict(self) -> dict[str, object]:
        """The JSON shape `feedback train --json` prints (one per family)."""
        return {"plan": self.plan.as_dict(), "trained": self.trained, "version": self.plan.version.name,
                "folder": self.folder, "promoted": self.promoted,
                "sft": sft_json(self.sft), "replay": None if self.replay is None else dict(self.replay),
                "dpo": dpo_json(self.dpo), "blends": [dict(b) for b in self.blends],
                "gate": None if self.decision is None else self.decision.as_dict()}


def sft_json(metrics: TrainingMetrics | None) -> dict[str, object] | None:
    """The SFT stage's numbers (None when it did not run)."""
    if metrics is None:
        return None
    return {"start_val_loss": metrics.start_val_loss, "final_val_loss": metrics.final_val_loss,
            "improvement_pct": metrics.improvement_pct, "duration_s": metrics.duration_s,
            "tokens_per_s": metrics.tokens_per_s, "peak_memory_mb": metrics.peak_memory_mb,
            "curve": [p.as_dict() for p in metrics.curve]}


def dpo_json(metrics: PreferenceMetrics | None) -> dict[str, object] | None:
    """The DPO stage's numbers and every step (None when it did not run)."""
    if metrics is None:
        return None
    final = metrics.final
    return {"duration_s": metrics.duration_s, "peak_memory_mb": metrics.peak_memory_mb,
            "iterations_run": len(metrics.steps), "pairs_trained": metrics.pairs_trained,
            "final": None if final is None else final.as_dict(),
            "steps": [s.as_dict() for s in metrics.steps]}


def tried_entry(decision: GateDecision) -> dict[str, object]:
    """One strength the gate judged: ``{"strength", "passed", "reasons"}``."""
    return {"strength": decision.strength, "passed": decision.passed, "reasons": decision.reasons}
