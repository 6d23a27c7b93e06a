"""`feedback train`'s plan: which corrections of a family, how they split, which stages run how long.

The family of a judged turn is the family its intent maps to (a misroute correction names the
intent it should have had, and trains that family). Only turns whose latest verdict is a
correction count: they carry both the SFT target and the (correction ≻ original) pair.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TypeVar

import attrs

from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.domain.errors import EvoTrError
from evotr.domain.evaluation import PreferencePair
from evotr.domain.feedback import FeedbackKind
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.learning import FeedbackExample, FeedbackSplit
from evotr.domain.training_labels import TrainLabels, shuffled_labels
from evotr.domain.validation import parse_enum

SFT_LEARNING_RATE = 1e-4  # measured on Gemma 3 270M: 1e-5 learned nothing in 30 iterations
MIN_ITERATIONS = 30
EPOCHS = 3
T = TypeVar("T")


class TrainMethod(StrEnum):
    """SFT on the corrections, DPO on (correction ≻ original), or SFT then DPO from its result."""

    SFT = "sft"
    DPO = "dpo"
    SFT_DPO = "sft+dpo"

    @classmethod
    def parse(cls, name: str) -> TrainMethod:
        """Parse a method name; unknown names list the valid ones."""
        return parse_enum(cls, name, "method", "training method")

    @property
    def sft(self) -> bool:
        """Whether an SFT stage runs."""
        return self in (TrainMethod.SFT, TrainMethod.SFT_DPO)

    @property
    def dpo(self) -> bool:
        """Whether a DPO stage runs."""
        return self in (TrainMethod.DPO, TrainMethod.SFT_DPO)


class FeedbackGateClosedError(EvoTrError):
    """Too few corrections for a family: says how many are missing."""


def family_corrections(examples: Iterable[FeedbackExample], mapping: IntentMapping,
                       family: AdapterFamily) -> list[FeedbackExample]:
    """The family's judged turns whose latest verdict is a correction, in the order given."""
    return [e for e in examples
            if e.kind is FeedbackKind.CORRECTION and mapping.family_for(e.intent) == family]


def corrections_by_family(examples: Iterable[FeedbackExample],
                          mapping: IntentMapping) -> dict[AdapterFamily, int]:
    """Corrections per family (every family of the mapping, zero included)."""
    counts = dict.fromkeys(sorted(mapping.families), 0)
    for example in examples:
        if example.kind is FeedbackKind.CORRECTION:
            counts[mapping.family_for(example.intent)] += 1
    return counts


def missing_message(family: AdapterFamily, corrections: int, minimum: int) -> str:
    """``tr_chat has 4 corrections: 6 more needed for training (min 10)``."""
    return (f"{family} has {corrections} correction{'s' if corrections != 1 else ''}: "
            f"{minimum - corrections} more needed for training (min {minimum})")


def scaled_iterations(rows: int, batch_size: int, *, epochs: int = EPOCHS,
                      minimum: int = MIN_ITERATIONS) -> int:
    """Enough steps for ``epochs`` passes over ``rows`` in batches, and never fewer than ``minimum``."""
    per_epoch = -(-max(rows, 1) // max(batch_size, 1))
    return max(minimum, epochs * per_epoch)


def replay_count(corrections: int, ratio: float) -> int:
    """General rows to replay beside ``corrections`` training rows: ⌈ratio × corrections⌉ (0 when ratio ≤ 0).

    Why: SFT on a handful of short corrections at lr 1e-4 makes a small model forget how to answer
    anything else (Gemma 3 270M, 7 corrections, 30 steps: val loss on everyday questions 4.69 → 8.08,
    bench_learning 2026-12-04). Replaying the family's own general data beside them is the usual
    rehearsal remedy against that forgetting.
    """
    return math.ceil(corrections * ratio) if ratio > 0 and corrections > 0 else 0


def pick_replay(rows: Sequence[T], count: int, seed: str) -> list[T]:
    """``count`` of ``rows`` in an order fixed by ``seed`` (the version name): repeatable, not the head."""
    order = sorted(range(len(rows)), key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
    return [rows[i] for i in order[: max(count, 0)]]


def dpo_converged(losses: Sequence[float], window: int, stop_loss: float | None) -> bool:
    """Whether DPO should stop: the mean loss of the last ``window`` steps (one epoch) ≤ ``stop_loss``.

    Why: once the pairs are ranked, DPO's loss and gradients vanish but Adam normalises its steps,
    so the policy keeps drifting at full learning-rate speed (Gemma 3 270M: the rejected answers'
    log-ratio went −14 → −357 nats over 30 steps while the loss sat below 1e-9, and everyday val
    loss rose 8.1 → 13.1). Stopping when the epoch is learned keeps DPO a small step.
    """
    if stop_loss is None or window < 1 or len(losses) < window:
        return False
    recent = losses[-window:]
    return sum(recent) / len(recent) <= stop_loss


def unranked_pairs(chosen: Sequence[float], rejected: Sequence[float]) -> list[int]:
    """Indices of the pairs the starting policy does not yet rank right (chosen ≤ rejected log-prob).

    Why: DPO from an SFT result that already prefers every correction has nothing to fix, and
    its steps then only push the model's own answers down (Gemma 3 270M, 2026-12-04: one DPO step
    at lr 2e-6 moved the rejected log-ratio by 15 nats and the everyday val loss by ~+25 %).
    """
    return [i for i, (c, r) in enumerate(zip(chosen, rejected, strict=True)) if c <= r]


def preference_pairs(examples: Iterable[FeedbackExample], *, swapped: bool = False) -> list[PreferencePair]:
    """(correction ≻ original) pairs of ``examples``; ``swapped`` reverses every label (a gate self-test)."""
    pairs = [p for p in (e.preference_pair() for e in examples) if p is not None]
    if swapped:
        pairs = [attrs.evolve(p, chosen=p.rejected, rejected=p.chosen) for p in pairs]
    return pairs


@attrs.frozen(slots=True)
class LoraShape:
    """The LoRA layout a new version gets: the active version's when there is one."""

    rank: int = 8
    num_layers: int = 8
    scale: float = 20.0
    dropout: float = 0.0
    keys: tuple[str, ...] | None = None
    max_seq_length: int = 1024

    def extra(self) -> dict[str, object]:
        """mlx-lm LoRA keys for a job's ``extra``."""
        found: dict[str, object] = {"scale": self.scale, "dropout": self.dropout}
        if self.keys is not None:
            found["keys"] = list(self.keys)
        return found


@attrs.frozen(slots=True)
class TrainingPlan:
    """What one `feedback train` run for a family will do (what ``--dry-run`` prints)."""

    family: AdapterFamily
    version: AdapterVersion
    method: TrainMethod
    corrections: int
    min_corrections: int
    split: FeedbackSplit
    active: AdapterVersion | None
    shape: LoraShape
    batch_size: int
    sft_iterations: int | None
    dpo_iterations: int | None
    sft_learning_rate: float = SFT_LEARNING_RATE
    dpo_learning_rate: float = 5e-6
    dpo_beta: float = 0.1
    # The user's labels, or a broken set for a self-test of the gate (see training_labels).
    labels: TrainLabels = TrainLabels.TRUE
    # General rows replayed per training correction in the SFT stage (see replay_count).
    replay_ratio: float = 0.0
    # DPO stops once an epoch's mean loss is this low (see dpo_converged); None runs every step.
    dpo_stop_loss: float | None = None
    # DPO trains only the pairs its starting policy still ranks wrong (see unranked_pairs).
    dpo_only_unranked: bool = False

    @property
    def replay_rows(self) -> int:
        """General rows mixed into the SFT stage (fewer when the general set is smaller)."""
        return replay_count(len(self.split.train), self.replay_ratio) if self.sft_iterations else 0

    @property
    def swap_labels(self) -> bool:
        """Whether this run trains on reversed labels (a self-test of the gate)."""
        return self.labels is TrainLabels.SWAPPED

    @property
    def train_examples(self) -> list[FeedbackExample]:
        """The training corrections as trained: shuffled among the questions for that self-test."""
        if self.labels is TrainLabels.SHUFFLED:
            return shuffled_labels(self.split.train)
        return list(self.split.train)

    @property
    def train_pairs(self) -> list[PreferencePair]:
        """Pairs the DPO stage trains on (labels reversed or shuffled for a self-test)."""
        return preference_pairs(self.train_examples, swapped=self.swap_labels)

    def stages(self) -> list[str]:
        """``["sft", "dpo"]``, ``["sft"]`` or ``["dpo"]``."""
        runs = (("sft", self.sft_iterations), ("dpo", self.dpo_iterations))
        return [stage for stage, iterations in runs if iterations is not None]

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of the plan (``--dry-run --json`` and the manifest)."""
        return {
            "family": self.family.name, "version": self.version.name, "method": self.method.value,
            "corrections": self.corrections, "min_corrections": self.min_corrections,
            "split": {"train": len(self.split.train), "held_out": len(self.split.held_out),
                      "turns": self.split.as_dict()},
            "train_pairs": len(preference_pairs(self.split.train)),
            "held_out_pairs": len(preference_pairs(self.split.held_out)),
            "starts_from": None if self.active is None else self.active.name,
            "stages": self.stages(),
            "sft": None if self.sft_iterations is None else {
                "iterations": self.sft_iterations, "learning_rate": self.sft_learning_rate,
                "batch_size": self.batch_size, "mask_prompt": True, "replay_ratio": self.replay_ratio},
            "dpo": None if self.dpo_iterations is None else {
                "iterations": self.dpo_iterations, "learning_rate": self.dpo_learning_rate,
                "beta": self.dpo_beta, "batch_size": self.batch_size, "stop_loss": self.dpo_stop_loss,
                "only_unranked": self.dpo_only_unranked},
            "lora": {"rank": self.shape.rank, "num_layers": self.shape.num_layers,
                     "max_seq_length": self.shape.max_seq_length, **self.shape.extra()},
            "swap_labels": self.swap_labels, "labels": self.labels.value,
        }


def sft_rows(examples: Sequence[FeedbackExample], *, swapped: bool = False) -> list[list[dict[str, str]]]:
    """Chat rows (mlx-lm format) of the corrections: the prompt the user saw, then the corrected answer.

    ``swapped`` teaches the original reply instead (a deliberately broken candidate).
    """
    rows = []
    for example in examples:
        if example.correction is None:
            continue
        answer = example.reply if swapped else example.correction
        rows.append([*(m.as_dict() for m in example.messages), {"role": "assistant", "content": answer}])
    return rows
