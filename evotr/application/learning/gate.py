"""The promotion gate, measured: candidate vs the active version (or the base model) on ONE resident model.

Both adapters are registered with the LLM backend (read into memory once) and switched in per
measurement, never loaded as models. Measures: preference accuracy and mean margin on the
held-out pairs and on the train pairs (PreferenceAccuracy; each pair carries the messages the
turn was sent), val loss on the held-out corrections (``mask_prompt``), and val loss on the
family's prepared ``valid.jsonl`` (the regression set). The rule is ``domain.promotion.decide``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs

from evotr.application.learning.preference import PreferenceAccuracy
from evotr.application.learning.prompt_scores import PromptScores
from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.errors import EvoTrError
from evotr.domain.evaluation import LossResult, PreferencePair, PreferenceResult, preference_result
from evotr.domain.feedback_training import preference_pairs
from evotr.domain.learning import FeedbackSplit
from evotr.domain.promotion import GateDecision, GatePolicy, ModelMeasures, PromoteMode, decide
from evotr.domain.training_labels import AnswerMatch, answer_matches
from evotr.ports.adapter_store import AdapterStore
from evotr.ports.evaluation_data import EvaluationData
from evotr.ports.llm_backend import LLMBackend

BASE_LABEL = "base"


@attrs.frozen(slots=True)
class RegressionSet:
    """The family's general validation data: a dataset name and its folder."""

    name: str
    folder: Path


def regression_set(store: AdapterStore, data: EvaluationData, data_dir: Path,
                   active: AdapterVersion | None, family: AdapterFamily | None = None,
                   general: Path | None = None) -> RegressionSet | None:
    """The family's general set: the active version's dataset, else the packaged one, else None.

    The dataset the active version's manifest names is looked for as given, under
    ``<home>/data/training/`` (where `evotr data prepare --name` writes) and under ``<home>/data/``.
    Without one (no active version, or trained on data that is gone), ``general/<family>/`` — a
    small packaged set of everyday questions — still catches a candidate that has forgotten how to
    answer: without any general set, a DPO run that wrecks the model could pass the gate.
    """
    name = ""
    if active is not None:
        try:
            manifest = store.manifest(active)
        except EvoTrError:
            manifest = None
        name = manifest.dataset if manifest is not None else ""
    if name:
        for folder in (Path(name), data_dir / "training" / name, data_dir / name):
            if data.is_dataset(folder):
                return RegressionSet(name, folder)
    if family is not None and general is not None and data.is_dataset(general / family.name):
        return RegressionSet(f"general {family.name} set", general / family.name)
    return None


class MeasureGate:
    """Measures a candidate and the active model and applies the promotion rule."""

    def __init__(self, llm: LLMBackend, data: EvaluationData, policy: GatePolicy) -> None:
        self._llm = llm
        self._data = data
        self._policy = policy

    def execute(self, candidate: AdapterVersion, candidate_dir: Path, active: AdapterVersion | None,
                active_dir: Path | None, split: FeedbackSplit, *, mode: PromoteMode = PromoteMode.AUTO,
                regression: RegressionSet | None = None, max_seq_length: int = 2048,
                active_measures: ModelMeasures | None = None, strength: float = 1.0) -> GateDecision:
        """Register both adapters on the resident model, measure each, and decide.

        ``active_measures`` from an earlier call spare measuring the active one again (a blend of
        the same run is judged against the same numbers); ``strength`` is recorded in the decision.
        """
        self._llm.register_adapter(candidate, candidate_dir)  # again: replaces an earlier blend
        if active is not None and active not in self._llm.registered_adapters():
            assert active_dir is not None
            self._llm.register_adapter(active, active_dir)
        held_pairs = preference_pairs(split.held_out)
        train_pairs = preference_pairs(split.train)
        matched = answer_matches(split.train)
        held_rows = [[*e.messages, Message(Role.ASSISTANT, e.correction)]
                     for e in split.held_out if e.correction is not None]
        general = self._data.conversations(regression.folder) if regression is not None else None
        before = active_measures or self._measure(active, held_pairs, train_pairs, matched, held_rows,
                                                  general, max_seq_length)
        after = self._measure(candidate, held_pairs, train_pairs, matched, held_rows, general,
                              max_seq_length)
        return decide(after, before, self._policy, mode, None if regression is None else regression.name,
                      strength)

    def reregister(self, candidate: AdapterVersion, folder: Path) -> None:
        """Make the resident model's ``candidate`` the weights in ``folder`` (after a blend was measured)."""
        self._llm.register_adapter(candidate, folder)

    def _measure(self, adapter: AdapterVersion | None, held: Sequence[PreferencePair],
                 train: Sequence[PreferencePair], matched: Sequence[AnswerMatch],
                 held_rows: Sequence[Sequence[Message]], general: Sequence[Sequence[Message]] | None,
                 max_seq: int) -> ModelMeasures:
        accuracy = PreferenceAccuracy(self._llm)
        # The trained turns' pairs and decoys share prompts: one scoring call per turn for both.
        scores = PromptScores(self._llm, adapter, [*((p.messages(), (p.chosen, p.rejected)) for p in train),
                                                   *((m.messages, (m.own, *m.decoys)) for m in matched)])
        return ModelMeasures(
            label=BASE_LABEL if adapter is None else adapter.name,
            held_out=accuracy.execute(held, adapter),
            train=preference_result([scores(p.messages(), p.chosen) for p in train],
                                    [scores(p.messages(), p.rejected) for p in train]),
            matched=self._matched(matched, scores) if matched else None,
            held_out_loss=self._loss(held_rows, adapter, max_seq),
            regression_loss=None if general is None else self._loss(general, adapter, max_seq),
        )

    @staticmethod
    def _matched(matches: Sequence[AnswerMatch], scores: PromptScores) -> PreferenceResult:
        """Turns whose own correction scores above every decoy; margin: own − the best decoy."""
        wins, margins = 0, []
        for match in matches:
            margin = scores(match.messages, match.own) - max(scores(match.messages, d) for d in match.decoys)
            wins += margin > 0
            margins.append(margin)
        return PreferenceResult(len(matches), wins, sum(margins) / len(margins) if margins else 0.0)

    def _loss(self, rows: Sequence[Sequence[Message]], adapter: AdapterVersion | None,
              max_seq: int) -> LossResult | None:
        if not rows:
            return None
        return self._llm.loss(rows, adapter, mask_prompt=True, max_seq_length=max_seq)
