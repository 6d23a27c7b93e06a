"""A Trainer that trains nothing: writes a valid, weightless mlx-lm adapter and fixed metrics."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from evotr.domain.training import LossPoint, TrainingJob, TrainingMetrics
from evotr.ports.trainer import Progress, Trainer


def write_empty_safetensors(path: Path, metadata: dict[str, str]) -> None:
    """A safetensors file with no tensors (mlx-lm then keeps its LoRA init: base output)."""
    header = json.dumps({"__metadata__": metadata}, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header)


class InMemoryTrainer(Trainer):
    """For fast tests of the training flow; records every job it was given."""

    def __init__(self, start_loss: float = 3.0, final_loss: float = 1.5) -> None:
        self._start_loss = start_loss
        self._final_loss = final_loss
        self.jobs: list[TrainingJob] = []

    def train(self, job: TrainingJob, output_dir: Path, progress: Progress | None = None) -> TrainingMetrics:
        """Write adapter_config.json + adapters.safetensors in mlx-lm's layout."""
        self.jobs.append(job)
        if progress is not None:
            progress({"kind": "val", "iteration": 0, "val_loss": self._start_loss})
            progress({"kind": "val", "iteration": job.iterations, "val_loss": self._final_loss})
        output_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "fine_tune_type": "lora",
            "num_layers": job.num_layers,
            "lora_parameters": {"rank": job.rank, "scale": 20.0, "dropout": 0.0},
            "model": job.base_model,
            "data": job.dataset,
            "iters": job.iterations,
            "batch_size": job.batch_size,
            "learning_rate": job.learning_rate,
            "max_seq_length": job.max_seq_length,
        }
        (output_dir / "adapter_config.json").write_text(json.dumps(config, indent=2), "utf-8")
        write_empty_safetensors(output_dir / "adapters.safetensors", {"trainer": "memory"})
        curve = (LossPoint("val", 0, self._start_loss), LossPoint("val", job.iterations, self._final_loss))
        return TrainingMetrics(self._start_loss, self._final_loss, duration_s=0.0, tokens_per_s=0.0,
                               curve=curve)
