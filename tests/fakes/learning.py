"""Small fakes for the learning loop (cosmicpython style: subclasses of the ports' fakes).

``ScoringLLM`` scores preference pairs by a margin set per adapter (the test decides which
candidate is good), ``FakePreferenceTrainer`` writes a weightless mlx-lm adapter like the
in-memory SFT trainer and records its jobs.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from pathlib import Path

from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.feedback import Feedback
from evotr.domain.intents import Intent
from evotr.domain.learning import PreferenceJob, PreferenceMetrics, PreferenceStep
from evotr.domain.training import TrainingJob, TrainingMetrics
from evotr.domain.turns import TurnRecord
from evotr.infrastructure.memory.llm_backend import InMemoryLLMBackend
from evotr.infrastructure.memory.trainer import InMemoryTrainer
from evotr.ports.feedback_repository import FeedbackRepository
from evotr.ports.preference_trainer import PreferenceTrainer
from evotr.ports.trainer import Progress

SYSTEM = "Sen EVO-TR'sin."


def write_one_tensor_safetensors(path: Path, value: float = 0.0) -> None:
    """A valid safetensors file with one float32 tensor (stores refuse tensor-less adapters)."""
    header = json.dumps({"model.layers.0.self_attn.q_proj.lora_a": {
        "dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode("utf-8")
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header + struct.pack("<f", value))


class FakeSftTrainer(InMemoryTrainer):
    """The in-memory SFT trainer, with one tensor in its adapter so a store accepts it."""

    def train(self, job: TrainingJob, output_dir: Path, progress: Progress | None = None) -> TrainingMetrics:
        metrics = super().train(job, output_dir, progress)
        write_one_tensor_safetensors(output_dir / "adapters.safetensors")
        return metrics


class ScoringLLM(InMemoryLLMBackend):
    """``logprobs(prompt, [chosen, rejected])`` is ``[margin, 0.0]``: margin > 0 prefers the chosen answer.

    ``margins[adapter]`` (default -1.0: the base model and unknown adapters prefer the original
    answer) is the margin of every pair; ``losses`` as in the parent.
    """

    def __init__(self, model_id: str = "memory", replies: Sequence[str] | None = None) -> None:
        super().__init__(model_id, replies)
        self.margins: dict[AdapterVersion | None, float] = {}
        self.scored: list[AdapterVersion | None] = []

    def logprobs(self, prompt: Sequence[Message], completions: Sequence[str],
                 adapter: AdapterVersion | None = None) -> list[float]:
        self._check(adapter)
        self.scored.append(adapter)
        margin = self.margins.get(adapter, -1.0)
        return [margin if i == 0 else 0.0 for i in range(len(completions))]


class FakePreferenceTrainer(PreferenceTrainer):
    """Writes adapter_config.json (the job's rank and layers) and a tensor-less adapters.safetensors."""

    def __init__(self) -> None:
        self.jobs: list[PreferenceJob] = []

    def train(self, job: PreferenceJob, output_dir: Path,
              progress: Progress | None = None) -> PreferenceMetrics:
        self.jobs.append(job)
        output_dir.mkdir(parents=True, exist_ok=True)
        config = {"fine_tune_type": "lora", "num_layers": job.num_layers, "model": job.base_model,
                  "lora_parameters": {"rank": job.rank, "scale": 20.0, "dropout": 0.0},
                  "init_adapter": job.init_adapter}
        (output_dir / "adapter_config.json").write_text(json.dumps(config), "utf-8")
        write_one_tensor_safetensors(output_dir / "adapters.safetensors", 1.0)
        step = PreferenceStep(job.iterations, 0.3, 0.4, -0.2, 1.0)
        if progress is not None:
            progress({"kind": "dpo", **step.as_dict()})
        return PreferenceMetrics((step,), duration_s=0.1, peak_memory_mb=1.0)


def add_judged_turns(repository: FeedbackRepository, count: int, *, intent: Intent | str = "general_chat",
                     kind: str = "correction", start: int = 0, reply: str = "Bilmiyorum {n}.",
                     correction: str = "Köpeğinin adı Pamuk {n}.") -> list[str]:
    """``count`` turns (system prompt + user message) with a correction (or 👍/👎) each; their ids.

    ``reply`` and ``correction`` are templates of the model's answer and the user's fix (``{n}``).
    """
    ids = []
    for n in range(start, start + count):
        prompt = f"Soru {n}: köpeğimin adı ne?"
        turn = TurnRecord(prompt, reply.format(n=n), intent, 0.9,
                          messages=(Message(Role.SYSTEM, SYSTEM), Message(Role.USER, prompt)))
        turn_id = repository.add_turn(turn)
        fixed = correction.format(n=n) if kind == "correction" else None
        repository.add_feedback(Feedback(turn_id, kind, fixed))
        ids.append(turn_id)
    return ids
