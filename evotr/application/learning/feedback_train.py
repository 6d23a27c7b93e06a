"""Use case: `evotr feedback train` — SFT on corrections, DPO on (correction ≻ original), gate, promote.

For each family whose gate is open (or the one asked for): the family's corrections are split
by turn-id hash into train and held-out; SFT trains on the train-side corrections (held-out
ones are its validation set, only reported), starting FROM the family's active adapter when it
has one (same rank and layers; mlx-lm's ``resume_adapter_file``); DPO trains on the train-side
pairs starting from the SFT result (else the active adapter, else fresh LoRA). The trainers load
and free their own model; the gate then measures on the ONE resident model with hot-swap.
``<family>_v<N+1>`` is stored with a manifest of the feedback used, the split, every metric and
the decision; it becomes active only when the gate passes (``--promote auto``). Every decision
is appended to the adapter history. An interrupted or failed run registers nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from evotr.application.learning.feedback_plan import PlanFeedbackTraining
from evotr.application.learning.gate import MeasureGate, RegressionSet, regression_set
from evotr.application.learning.outcome import FeedbackTrainOutcome, dpo_json, sft_json, tried_entry
from evotr.application.learning.sft_data import write_chat_dataset
from evotr.domain.adapter_history import HistoryEvent
from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.domain.errors import EvoTrError
from evotr.domain.feedback_training import TrainingPlan, TrainMethod, pick_replay, sft_rows
from evotr.domain.learning import PreferenceJob, PreferenceMetrics
from evotr.domain.promotion import BLEND_STRENGTHS, GateDecision, PromoteMode
from evotr.domain.training import TrainingJob, TrainingMetrics
from evotr.domain.training_labels import TrainLabels
from evotr.ports.adapter_blender import AdapterBlender
from evotr.ports.adapter_history import AdapterHistory
from evotr.ports.adapter_store import AdapterStore
from evotr.ports.evaluation_data import EvaluationData
from evotr.ports.preference_trainer import PreferenceTrainer
from evotr.ports.trainer import Progress, Trainer

ADAPTER_WEIGHTS = "adapters.safetensors"  # mlx-lm's weights file in an adapter folder


class TrainFromFeedback:
    """Plans, trains (SFT → DPO), gates, stores, maybe promotes, and records the decision."""

    def __init__(self, planner: PlanFeedbackTraining, store: AdapterStore, trainer: Trainer,
                 preference_trainer: PreferenceTrainer, gate: MeasureGate, history: AdapterHistory,
                 data: EvaluationData, base_model: str, scratch: Path, data_dir: Path,
                 general_sets: Path | None = None, blender: AdapterBlender | None = None,
                 strengths: Sequence[float] = BLEND_STRENGTHS) -> None:
        """``general_sets``: ``<family>/valid.jsonl`` sets the gate falls back to (see regression_set);
        ``blender``: makes the gentler candidates (``strengths``) the gate tries after a miss."""
        self._planner = planner
        self._store = store
        self._trainer = trainer
        self._preference = preference_trainer
        self._gate = gate
        self._history = history
        self._data = data
        self._base_model = base_model
        self._scratch = scratch
        self._data_dir = data_dir
        self._general_sets = general_sets
        self._blender = blender
        self._strengths = tuple(strengths)

    def plans(self, family: str | None = None, *, method: TrainMethod | str = TrainMethod.SFT_DPO,
              labels: TrainLabels | str = TrainLabels.TRUE) -> list[TrainingPlan]:
        """What a run would do for each family; FeedbackGateClosedError says what is missing."""
        chosen = method if isinstance(method, TrainMethod) else TrainMethod.parse(method)
        examples = self._planner.examples()
        kind = labels if isinstance(labels, TrainLabels) else TrainLabels.parse(labels)
        return [self._planner.plan(f, chosen, examples, labels=kind)
                for f in self._planner.families(family, examples)]

    def execute(self, family: str | None = None, *, method: TrainMethod | str = TrainMethod.SFT_DPO,
                promote: PromoteMode | str = PromoteMode.AUTO, dry_run: bool = False,
                labels: TrainLabels | str = TrainLabels.TRUE,
                progress: Progress | None = None) -> list[FeedbackTrainOutcome]:
        """Train each planned family in turn; ``dry_run`` returns the plans and trains nothing.

        ``labels`` other than ``true`` train a deliberately broken candidate while the gate
        measures the true labels, to check that it refuses it: ``swapped`` (the original answer as
        the SFT target, original ≻ correction for DPO) or ``shuffled`` (each question trained with
        another question's correction).
        """
        mode = promote if isinstance(promote, PromoteMode) else PromoteMode.parse(promote)
        plans = self.plans(family, method=method, labels=labels)
        if dry_run:
            return [FeedbackTrainOutcome(plan, trained=False) for plan in plans]
        return [self._run(plan, mode, progress or _ignore) for plan in plans]

    def _run(self, plan: TrainingPlan, mode: PromoteMode, progress: Progress) -> FeedbackTrainOutcome:
        active_dir = self._store.path(plan.active) if plan.active is not None else None
        regression = regression_set(self._store, self._data, self._data_dir, plan.active, plan.family,
                                    self._general_sets)
        self._scratch.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"feedback-{plan.version.name}-", dir=self._scratch))
        sft = dpo = None
        replayed: dict[str, object] | None = None
        try:
            start = active_dir
            if plan.method.sft:
                sft, replayed = self._sft(plan, work, active_dir, regression, progress)
                start = work / "sft"
            if plan.dpo_iterations is not None:
                dpo = self._dpo(plan, work, start, progress)
                start = work / "dpo"
            elif plan.method.dpo:  # the planner found no pair: the SFT result is the candidate
                progress({"kind": "stage", "stage": "dpo-skipped", "iterations": 0})
            assert start is not None  # at least one stage ran
            progress({"kind": "stage", "stage": "gate", "iterations": 0})
            decision = self._gate.execute(plan.version, start, plan.active, active_dir, plan.split,
                                          mode=mode, regression=regression,
                                          max_seq_length=plan.shape.max_seq_length)
            start, decision, blends = self._blend_back(plan, work, start, active_dir, decision, regression,
                                                       mode, progress)
            manifest = self._manifest(plan, sft, dpo, decision, regression, replayed, blends)
            folder = self._store.add(plan.version, start, manifest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self._store.update_registry(lambda r: r.register(plan.version))
        if decision.promote:
            self._store.update_registry(lambda r: r.promote(plan.version))
        self._history.append(HistoryEvent("feedback_train", plan.family, self._event(plan, decision)))
        return FeedbackTrainOutcome(plan, True, decision, sft, dpo, str(folder), replayed, tuple(blends))

    def _blend_back(self, plan: TrainingPlan, work: Path, trained: Path, active_dir: Path | None,
                    decision: GateDecision, regression: RegressionSet | None, mode: PromoteMode,
                    progress: Progress) -> tuple[Path, GateDecision, list[dict[str, object]]]:
        """Gentler candidates when the trained one learned its corrections but failed another check.

        Each strength (see domain.promotion.BLEND_STRENGTHS) moves only that share of the way
        from the active adapter (or the base model) to the trained one; the first that passes
        every check is the candidate. None passing: the trained adapter stays the candidate.
        """
        tried: list[dict[str, object]] = [tried_entry(decision)]
        if self._blender is None or not decision.worth_a_blend:
            return trained, decision, tried
        for strength in self._strengths:
            progress({"kind": "stage", "stage": "blend", "strength": strength, "iterations": 0})
            out = work / f"blend-{strength:g}"
            self._blender.blend(active_dir, trained, strength, out)
            trial = self._gate.execute(plan.version, out, plan.active, active_dir, plan.split, mode=mode,
                                       regression=regression, max_seq_length=plan.shape.max_seq_length,
                                       active_measures=decision.active, strength=strength)
            tried.append(tried_entry(trial))
            if trial.passed:
                return out, trial, tried
            if not trial.worth_a_blend:
                break
        self._gate.reregister(plan.version, trained)  # the resident model holds what is stored
        return trained, decision, tried

    def _sft(self, plan: TrainingPlan, work: Path, active_dir: Path | None, regression: RegressionSet | None,
             progress: Progress) -> tuple[TrainingMetrics, dict[str, object] | None]:
        assert plan.sft_iterations is not None
        dataset = work / "data"
        replay, replayed = self._replay(plan, regression)
        write_chat_dataset(dataset, [*sft_rows(plan.train_examples, swapped=plan.swap_labels), *replay],
                           sft_rows(plan.split.held_out))
        extra: dict[str, object] = {**plan.shape.extra(), "mask_prompt": True}
        if active_dir is not None:
            extra["resume_adapter_file"] = str(active_dir / ADAPTER_WEIGHTS)
        job = TrainingJob(plan.version, self._base_model, str(dataset), plan.sft_iterations,
                          plan.shape.rank, plan.shape.num_layers, plan.batch_size, plan.sft_learning_rate,
                          plan.shape.max_seq_length, extra=extra)
        progress({"kind": "stage", "stage": "sft", "iterations": plan.sft_iterations})
        return self._trainer.train(job, work / "sft", progress), replayed

    def _replay(self, plan: TrainingPlan, regression: RegressionSet | None
                ) -> tuple[list[list[dict[str, str]]], dict[str, object] | None]:
        """General rows for the SFT stage: the regression set's OWN train split (never its valid.jsonl,
        which the gate measures), ``plan.replay_rows`` of them in an order fixed by the version name."""
        if plan.replay_rows == 0 or regression is None or not (regression.folder / "train.jsonl").is_file():
            return [], None
        rows = pick_replay(self._data.conversations(regression.folder, "train"), plan.replay_rows,
                           plan.version.name)
        return [[m.as_dict() for m in row] for row in rows], {"data": regression.name, "rows": len(rows)}

    def _dpo(self, plan: TrainingPlan, work: Path, start: Path | None,
             progress: Progress) -> PreferenceMetrics:
        assert plan.dpo_iterations is not None
        pairs = plan.train_pairs
        if not pairs:
            raise EvoTrError(f"{plan.family}: no training pair for DPO")
        job = PreferenceJob(plan.version, self._base_model, pairs,  # type: ignore[arg-type]  # attrs: converter=tuple
                            init_adapter=None if start is None else str(start), method="dpo",
                            beta=plan.dpo_beta, iterations=plan.dpo_iterations, batch_size=plan.batch_size,
                            learning_rate=plan.dpo_learning_rate, rank=plan.shape.rank,
                            num_layers=plan.shape.num_layers, max_seq_length=plan.shape.max_seq_length,
                            stop_loss=plan.dpo_stop_loss, only_unranked=plan.dpo_only_unranked,
                            extra=plan.shape.extra())
        progress({"kind": "stage", "stage": "dpo", "iterations": plan.dpo_iterations})
        return self._preference.train(job, work / "dpo", progress)

    def _manifest(self, plan: TrainingPlan, sft: TrainingMetrics | None, dpo: PreferenceMetrics | None,
                  decision: GateDecision, regression: RegressionSet | None,
                  replayed: dict[str, object] | None,
                  blends: Sequence[Mapping[str, object]] = ()) -> AdapterManifest:
        """The manifest: numbers to compare versions by, and the feedback and split to repeat the run."""
        cand, act = decision.candidate, decision.active
        final = dpo.final if dpo is not None else None
        metrics: dict[str, float | None] = {
            "start_val_loss": None if sft is None else sft.start_val_loss,
            "final_val_loss": None if sft is None else sft.final_val_loss,
            "improvement_pct": None if sft is None else sft.improvement_pct,
            "dpo_final_loss": None if final is None else final.loss,
            "dpo_final_accuracy": None if final is None else final.accuracy,
            "dpo_final_margin": None if final is None else final.margin,
            "gate_train_accuracy": cand.train.accuracy,
            "gate_held_out_accuracy": cand.held_out.accuracy,
            "gate_held_out_margin": cand.held_out.mean_margin,
            "gate_matched_accuracy": None if cand.matched is None else cand.matched.accuracy,
            "active_held_out_accuracy": act.held_out.accuracy,
            "gate_held_out_val_loss": None if cand.held_out_loss is None else cand.held_out_loss.loss,
            "gate_regression_val_loss": None if cand.regression_loss is None else cand.regression_loss.loss,
            "duration_s": (0.0 if sft is None else sft.duration_s) + (0.0 if dpo is None else dpo.duration_s),
        }
        inherited = self._inherited_dataset(plan.active)
        return AdapterManifest(plan.version, self._base_model, regression.name if regression else inherited,
                               metrics, training={
                                   "source": "feedback", "plan": plan.as_dict(),
                                   "feedback_turns": plan.split.as_dict(),
                                   "sft": sft_json(sft), "replay": replayed, "dpo": dpo_json(dpo),
                                   "strength": decision.strength, "blends": list(blends),
                                   "gate": decision.as_dict()})

    def _inherited_dataset(self, active: AdapterVersion | None) -> str:
        """The active version's dataset: the family's general set stays the regression set of later runs."""
        try:
            manifest = self._store.manifest(active) if active is not None else None
        except EvoTrError:
            return ""
        return manifest.dataset if manifest is not None else ""

    @staticmethod
    def _event(plan: TrainingPlan, decision: GateDecision) -> Mapping[str, object]:
        before = None if plan.active is None else plan.active.name
        return {"candidate": plan.version.name, "active_before": before,
                "active_after": plan.version.name if decision.promote else before,
                "decision": decision.verdict, "mode": decision.mode.value, "method": plan.method.value,
                "reasons": decision.reasons, "feedback_turns": plan.split.as_dict(),
                "metrics": {"candidate": decision.candidate.as_dict(), "active": decision.active.as_dict(),
                            "checks": [c.as_dict() for c in decision.checks]},
                "regression_data": decision.regression_data, "swap_labels": plan.swap_labels,
                "labels": plan.labels.value, "strength": decision.strength}


def _ignore(_event: Mapping[str, object]) -> None:
    return None


def last_feedback_run(history: AdapterHistory, family: AdapterFamily) -> HistoryEvent | None:
    """The family's latest `feedback train` decision, or None."""
    runs = [e for e in history.events(family) if e.event == "feedback_train"]
    return runs[-1] if runs else None
