"""Plan a `feedback train` run: the family's corrections, the gate, the split, the stages.

Nothing is trained here: ``--dry-run`` prints exactly this plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from evotr.application.adapters import require_family
from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.domain.errors import EvoTrError
from evotr.domain.feedback_training import (
    FeedbackGateClosedError,
    LoraShape,
    TrainingPlan,
    TrainMethod,
    corrections_by_family,
    family_corrections,
    missing_message,
    preference_pairs,
    replay_count,
    scaled_iterations,
)
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.learning import FeedbackExample, split_examples
from evotr.domain.training_labels import TrainLabels
from evotr.ports.adapter_store import AdapterStore
from evotr.ports.feedback_repository import FeedbackRepository


@attrs.frozen(slots=True)
class TrainingDefaults:
    """What a run uses where the active version says nothing (a family's first feedback version)."""

    shape: LoraShape = attrs.field(factory=LoraShape)
    batch_size: int = 2
    # 5e-5 over-optimised on Gemma 3 270M: after SFT, 30 DPO steps drove the reward margin to
    # +900…+2,200 nats and the val loss on everyday questions from 4.1 to 40 (the demo and
    # bench_learning, 2026-12-04). TRL's DPO default is 1e-6 for full fine-tuning; LoRA takes more.
    dpo_learning_rate: float = 2e-6
    # β bounds how far DPO may move from its reference: the loss is spent once β·(log-ratio
    # margin) ≈ 2, i.e. after ~4.5 nats at β 0.5 but ~22 nats at TRL's 0.1 — and on Gemma 3 270M
    # every nat pushed off the model's own long answers cost everyday answers too (experiments of
    # 2026-12-04: 7 corrections; SFT alone +6 % val loss on the general set, SFT + DPO at β 0.1 +22 %).
    dpo_beta: float = 0.5
    # One general row per correction in SFT, and DPO stopped once its epoch loss is ≤ 0.1 (the
    # average pair ranked at σ ≈ 0.9): both keep a few corrections from wrecking everyday answers
    # (see domain.feedback_training.replay_count and dpo_converged for the measurements). Two rows
    # per correction did no better in one run (+26 % vs +6 % everyday val loss) and cost more steps.
    replay_ratio: float = 1.0
    dpo_stop_loss: float | None = 0.1
    dpo_only_unranked: bool = True
    # Tests and benchmarks pin both stages' length; None scales them to the data.
    iterations: int | None = None


class PlanFeedbackTraining:
    """Reads the judged turns and the registry; says what a run would do, or why it cannot."""

    def __init__(self, repository: FeedbackRepository, mapping: IntentMapping, store: AdapterStore,
                 min_corrections: int, defaults: TrainingDefaults | None = None) -> None:
        self._repository = repository
        self._mapping = mapping
        self._store = store
        self._min = min_corrections
        self._defaults = defaults or TrainingDefaults()

    @property
    def min_corrections(self) -> int:
        """Corrections a family needs before it can be trained."""
        return self._min

    def examples(self) -> Sequence[FeedbackExample]:
        """Every judged turn with its latest verdict."""
        return self._repository.judged_turns()

    def counts(self, examples: Sequence[FeedbackExample] | None = None) -> dict[AdapterFamily, int]:
        """Corrections per family of the mapping."""
        return corrections_by_family(self.examples() if examples is None else examples, self._mapping)

    def families(self, family: str | None, examples: Sequence[FeedbackExample]) -> list[AdapterFamily]:
        """The family given (checked), else every family whose gate is open; refuses when none is."""
        counts = self.counts(examples)
        if family is not None:
            target = AdapterFamily(family)
            require_family(self._mapping, target)
            if counts[target] < self._min:
                raise FeedbackGateClosedError(missing_message(target, counts[target], self._min))
            return [target]
        ready = [f for f, n in counts.items() if n >= self._min]
        if not ready:
            states = "; ".join(missing_message(f, n, self._min) for f, n in counts.items())
            raise FeedbackGateClosedError(f"no family has enough corrections to train: {states}")
        return ready

    def plan(self, family: AdapterFamily, method: TrainMethod, examples: Sequence[FeedbackExample],
             *, labels: TrainLabels = TrainLabels.TRUE) -> TrainingPlan:
        """The run for ``family``: its corrections split by turn-id hash, the stages and their lengths."""
        corrections = family_corrections(examples, self._mapping, family)
        if len(corrections) < self._min:
            raise FeedbackGateClosedError(missing_message(family, len(corrections), self._min))
        split = split_examples(corrections)
        registry = self._store.load_registry()
        active = registry.active(family)
        known = {v.number for v in self._store.versions() if v.family == family}
        known |= set(registry.state(family).versions)
        version = AdapterVersion(family, max(known, default=0) + 1)
        shape = self._shape(active)
        batch = self._defaults.batch_size
        fixed = self._defaults.iterations
        sft_rows = len(split.train) + replay_count(len(split.train), self._defaults.replay_ratio)
        sft = (fixed or scaled_iterations(sft_rows, batch)) if method.sft else None
        dpo_rows = len(preference_pairs(split.train))
        if method.dpo and dpo_rows == 0 and not method.sft:
            raise EvoTrError(f"{family}: no training correction differs from the answer it corrects, so "
                             "DPO has no pair to learn from; use --method sft")
        # sft+dpo without a pair (every corrected reply empty or equal to its correction): SFT only.
        dpo = (fixed or scaled_iterations(dpo_rows, batch)) if method.dpo and dpo_rows else None
        return TrainingPlan(family, version, method, len(corrections), self._min, split, active, shape,
                            batch, sft, dpo, dpo_learning_rate=self._defaults.dpo_learning_rate,
                            dpo_beta=self._defaults.dpo_beta, labels=labels,
                            replay_ratio=self._defaults.replay_ratio if method.sft else 0.0,
                            dpo_stop_loss=self._defaults.dpo_stop_loss,
                            dpo_only_unranked=self._defaults.dpo_only_unranked)

    def _shape(self, active: AdapterVersion | None) -> LoraShape:
        """The active version's rank, layers, scale, dropout, keys and sequence length, else the defaults."""
        default = self._defaults.shape
        if active is None:
            return default
        try:
            config = self._store.training_config(active) or {}
        except EvoTrError:
            config = {}
        lora = config.get("lora_parameters")
        lora = lora if isinstance(lora, Mapping) else {}
        keys = lora.get("keys")
        return LoraShape(
            rank=_int(lora.get("rank"), default.rank),
            num_layers=_int(config.get("num_layers"), default.num_layers),
            scale=_float(lora.get("scale"), default.scale),
            dropout=_float(lora.get("dropout"), default.dropout),
            keys=tuple(str(k) for k in keys) if isinstance(keys, (list, tuple)) else default.keys,
            # Not a LoRA shape: feedback prompts carry the persona and history, so never shorter
            # than the default (a demo adapter trained at 64 tokens would cut every answer off).
            max_seq_length=max(_int(config.get("max_seq_length"), 0), default.max_seq_length),
        )


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _float(value: object, default: float) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else default  # type: ignore[arg-type]
