"""Trains a LoRA adapter version from a prepared dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from evotr.domain.training import TrainingJob, TrainingMetrics


@runtime_checkable
class Trainer(Protocol):
    """Writes mlx-lm adapter files into ``output_dir`` and reports metrics."""

    def train(self, job: TrainingJob, output_dir: Path) -> TrainingMetrics:
        """Run the job to completion."""
        ...
