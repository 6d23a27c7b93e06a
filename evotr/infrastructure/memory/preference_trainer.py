"""A PreferenceTrainer that trains nothing: a valid-looking mlx-lm adapter folder and fixed steps."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from evotr.domain.learning import PreferenceJob, PreferenceMetrics, PreferenceStep
from evotr.ports.preference_trainer import PreferenceTrainer
from evotr.ports.trainer import Progress


def write_zero_lora_safetensors(path: Path, rank: int, metadata: dict[str, str]) -> None:
    """One zero LoRA pair (lora_a (1, rank), lora_b (rank, 1)) in float32, written without MLX."""
    names = ("model.layers.0.self_attn.q_proj.lora_a", "model.layers.0.self_attn.q_proj.lora_b")
    size = 4 * rank
    header: dict[str, object] = {"__metadata__": metadata}
    for index, (name, shape) in enumerate(zip(names, ([1, rank], [rank, 1]), strict=True)):
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [index * size, (index + 1) * size]}
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + bytes(2 * size))


class InMemoryPreferenceTrainer(PreferenceTrainer):
    """For fast tests of the learning flow: records each job, reports a loss falling from log 2.

    Every step reports ``loss`` from 0.693 down to ``final_loss``, rewards ±``final_margin``/2
    growing linearly and accuracy 1.0 after the first step (as DPO starts at the reference: 0).
    """

    def __init__(self, final_loss: float = 0.3, final_margin: float = 0.6) -> None:
        self._final_loss = final_loss
        self._final_margin = final_margin
        self.jobs: list[PreferenceJob] = []

    def train(self, job: PreferenceJob, output_dir: Path,
              progress: Progress | None = None) -> PreferenceMetrics:
        """Write adapter_config.json + adapters.safetensors in mlx-lm's layout; no model is loaded."""
        self.jobs.append(job)
        steps = []
        for iteration in range(1, job.iterations + 1):
            share = (iteration - 1) / max(job.iterations - 1, 1)
            half = share * self._final_margin / 2
            step = PreferenceStep(iteration, 0.693 + share * (self._final_loss - 0.693), half, -half,
                                  0.0 if iteration == 1 else 1.0)
            steps.append(step)
            if progress is not None:
                progress({"kind": "dpo", **step.as_dict()})
        output_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "fine_tune_type": "lora", "num_layers": job.num_layers, "model": job.base_model,
            "lora_parameters": {"rank": job.rank, "scale": 20.0, "dropout": 0.0},
            "iters": job.iterations, "batch_size": job.batch_size, "learning_rate": job.learning_rate,
            "max_seq_length": job.max_seq_length,
            "evotr_preference": {"method": job.method, "beta": job.beta, "pairs": len(job.pairs),
                                 "init_adapter": job.init_adapter, "trainer": "memory"},
        }
        (output_dir / "adapter_config.json").write_text(json.dumps(config, indent=2), "utf-8")
        write_zero_lora_safetensors(output_dir / "adapters.safetensors", job.rank, {"trainer": "memory"})
        return PreferenceMetrics(steps, duration_s=0.0)  # type: ignore[arg-type]  # attrs: converter=tuple
