"""A LoRA training job and the metrics it reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs

from evotr.domain.adapters import AdapterVersion
from evotr.domain.errors import DomainValidationError
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
    # What was read: a hash of the base model's weight index and of the dataset's files, so two
    # versions can be told apart by their inputs ("V1 = V2: same data?").
    base_model_hash: str = ""
    dataset_hash: str = ""

    @property
    def improvement_pct(self) -> float | None:
        """How much the validation loss fell, in percent of where it started."""
        if not self.start_val_loss or self.final_val_loss is None:
            return None
        return 100.0 * (self.start_val_loss - self.final_val_loss) / self.start_val_loss


def _frozen_config(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class TrainingConfig:
    """One `evotr train -c FILE` run: mlx-lm's LoRA settings plus evotr's ``family``.

    ``model`` and ``data`` are as written in the file (mlx-lm reads them relative to the working
    directory); ``source`` keeps the whole file for the adapter's manifest. ``options`` holds the
    mlx-lm keys the trainer passes through (scale, dropout, mask_prompt, steps_per_eval, …).
    """

    family: str | None
    model: str | None
    data: str | None
    iterations: int = attrs.field(validator=positive_int)
    rank: int = attrs.field(validator=positive_int)
    num_layers: int = attrs.field(validator=positive_int)
    batch_size: int = attrs.field(validator=positive_int)
    learning_rate: float
    max_seq_length: int = attrs.field(validator=positive_int)
    options: Mapping[str, object] = attrs.field(factory=dict, converter=_frozen_config)
    source: Mapping[str, object] = attrs.field(factory=dict, converter=_frozen_config)
    preset: str | None = None


# The notes' setting that trained python_coder_v2 after the first try ran out of memory.
MEMORY_FRIENDLY = {"batch_size": 2, "num_layers": 8, "rank": 8, "max_seq_length": 512}
PRESETS: Mapping[str, Mapping[str, int]] = MappingProxyType({"memory-friendly": MEMORY_FRIENDLY})


def with_preset(config: TrainingConfig, name: str) -> TrainingConfig:
    """``config`` with a named preset's values; an unknown name lists the known ones."""
    values = PRESETS.get(name)
    if values is None:
        raise DomainValidationError("preset", f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return attrs.evolve(config, preset=name, batch_size=values["batch_size"], num_layers=values["num_layers"],
                        rank=values["rank"], max_seq_length=values["max_seq_length"])
