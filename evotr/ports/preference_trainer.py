"""Trains a LoRA adapter on preference pairs (DPO, optionally KTO) with one base model in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from evotr.domain.learning import PreferenceJob, PreferenceMetrics
from evotr.ports.trainer import Progress


@runtime_checkable
class PreferenceTrainer(Protocol):
    """Writes mlx-lm adapter files into ``output_dir`` (loadable by ``mlx_lm.load(adapter_path=...)``).

    The reference policy is the job's starting adapter; its log-probabilities are computed once,
    before training, on the same resident model — never a second model load. ``progress`` gets
    ``{"kind": "dpo", "iteration", "loss", "chosen_reward", "rejected_reward", "margin", "accuracy"}``.
    """

    def train(self, job: PreferenceJob, output_dir: Path,
              progress: Progress | None = None) -> PreferenceMetrics:
        """Run the job to completion and report every step."""
        ...
