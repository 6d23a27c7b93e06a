"""Trains a LoRA adapter version from a prepared dataset."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from evotr.domain.training import TrainingJob, TrainingMetrics

# A report while training: {"kind": "train"|"val", "iteration": n, "train_loss"|"val_loss": x, ...}.
Progress = Callable[[Mapping[str, object]], None]


@runtime_checkable
class Trainer(Protocol):
    """Writes mlx-lm adapter files (and ``loss.png``) into ``output_dir`` and reports metrics."""

    def train(self, job: TrainingJob, output_dir: Path, progress: Progress | None = None) -> TrainingMetrics:
        """Run the job to completion; ``progress`` receives each loss report as it happens."""
        ...
