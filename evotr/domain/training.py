"""A LoRA training job and the metrics it reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs

from evotr.domain.adapters import AdapterVersion
from evotr.domain.validation import non_empty_text, positive_int


def _freeze(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class TrainingJob:
    """Train ``version`` on ``base_model`` from a dataset folder with train/valid.jsonl."""

    version: AdapterVersion
    base_model: str = attrs.field(validator=non_empty_text)
    dataset: str = attrs.field(validator=non_empty_text)
    iterations: int = attrs.field(default=100, validator=positive_int)
    rank: int = attrs.field(default=8, validator=positive_int)
    num_layers: int = attrs.field(default=8, validator=positive_int)
    batch_size: int = attrs.field(default=2, validator=positive_int)
    learning_rate: float = 1e-5
    max_seq_length: int = attrs.field(default=512, validator=positive_int)
    extra: Mapping[str, object] = attrs.field(factory=dict, converter=_freeze)


@attrs.frozen(slots=True)
class LossPoint:
    """One reported loss: ``kind`` is ``"train"`` or ``"val"``, at ``iteration``."""

    kind: str
    iteration: int
    loss: float

    def as_dict(self) -> dict[str, object]:
        """The JSON shape kept in manifest.json."""
        return {"kind": self.kind, "iteration": self.iteration, "loss": self.loss}


def _points(value: Iterable[LossPoint]) -> tuple[LossPoint, ...]:
    return tuple(value)


@attrs.frozen(slots=True)
class TrainingMetrics:
    """Numbers a manifest keeps about a training run."""

    start_val_loss: float | None = None
    final_val_loss: float | None = None
    duration_s: float = 0.0
    tokens_per_s: float = 0.0
    peak_memory_mb: float | None = None
    curve: tuple[LossPoint, ...] = attrs.field(default=(), converter=_points)

    @property
    def improvement_pct(self) -> float | None:
        """How much the validation loss fell, in percent of where it started."""
        if not self.start_val_loss or self.final_val_loss is None:
            return None
        return 100.0 * (self.start_val_loss - self.final_val_loss) / self.start_val_loss
