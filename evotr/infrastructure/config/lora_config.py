"""LoRA training configs in mlx-lm's own YAML keys, so `python -m mlx_lm lora -c FILE` runs them too.

evotr adds one key mlx-lm ignores (``family``) and refuses what its trainer does not do (another
fine-tune type or optimizer, schedules, resuming) instead of silently training something else.
Every problem is one line naming file, line and key, with "did you mean" for typos.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evotr.domain.training import TrainingConfig
from evotr.infrastructure.config.schema import Scalar, Section, check
from evotr.infrastructure.config.yaml_source import load_yaml

_INT, _NUM, _TEXT, _BOOL = (int,), (float,), (str,), (bool,)

# Keys mlx-lm reads that evotr's trainer follows, with mlx-lm's defaults except where small
# models need otherwise (measured on Gemma 3 270M: lr 1e-5 learned nothing in 30 iterations,
# 1e-4 with the prompt masked did).
LORA_SCHEMA = Section({
    "family": Scalar(_TEXT, default=None, nullable=True, non_empty=True),
    "model": Scalar(_TEXT, default=None, nullable=True, non_empty=True),
    "data": Scalar(_TEXT, default=None, nullable=True, non_empty=True),
    "train": Scalar(_BOOL, default=True),
    "fine_tune_type": Scalar(_TEXT, default="lora", choices=("lora",)),
    "optimizer": Scalar(_TEXT, default="adam", choices=("adam",)),
    "seed": Scalar(_INT, default=0),
    "num_layers": Scalar(_INT, default=8),
    "batch_size": Scalar(_INT, default=2),
    "iters": Scalar(_INT, default=200),
    "val_batches": Scalar(_INT, default=-1),
    "learning_rate": Scalar(_NUM, default=1e-4),
    "steps_per_report": Scalar(_INT, default=10),
    "steps_per_eval": Scalar(_INT, default=None, nullable=True),
    "save_every": Scalar(_INT, default=1000),
    "adapter_path": Scalar(_TEXT, default="adapters"),
    "max_seq_length": Scalar(_INT, default=512),
    "grad_checkpoint": Scalar(_BOOL, default=False),
    "mask_prompt": Scalar(_BOOL, default=True),
    "lora_parameters": Section({
        "rank": Scalar(_INT, default=8),
        "scale": Scalar(_NUM, default=20.0),
        "dropout": Scalar(_NUM, default=0.0),
        # mlx-lm: which linear layers of a block get LoRA (default: its own per-model list).
        "keys": Scalar((list,), default=None, nullable=True),
    }),
    "test": Scalar(_BOOL, default=False),
    "test_batches": Scalar(_INT, default=500),
    "trust_remote_code": Scalar(_BOOL, default=False),
    "report_to": Scalar(_TEXT, default=None, nullable=True),
    "project_name": Scalar(_TEXT, default=None, nullable=True),
})

# Passed to the trainer as job options; the rest become the TrainingConfig's own fields.
_OPTIONS = ("mask_prompt", "steps_per_report", "steps_per_eval", "val_batches", "grad_checkpoint", "seed")


def load_lora_config(file: Path) -> TrainingConfig:
    """Read and check ``file``; ConfigError (one line, file:line: key) on any problem."""
    doc = load_yaml(file)
    data: dict[str, Any] = check(doc, LORA_SCHEMA)
    for key in ("num_layers", "batch_size", "iters", "max_seq_length", "steps_per_report", "save_every"):
        if data[key] < 1:
            raise doc.error(key, f"must be at least 1, got {data[key]}")
    if data["lora_parameters"]["rank"] < 1:
        raise doc.error("lora_parameters.rank", f"must be at least 1, got {data['lora_parameters']['rank']}")
    if data["val_batches"] == 0 or data["val_batches"] < -1:
        raise doc.error("val_batches", "must be -1 (the whole valid set) or at least 1")
    if data["steps_per_eval"] is not None and data["steps_per_eval"] < 1:
        raise doc.error("steps_per_eval", "must be at least 1 (or null: no validation during training)")
    if not data["learning_rate"] > 0:
        raise doc.error("learning_rate", f"must be positive, got {data['learning_rate']}")
    lora = data["lora_parameters"]
    options: dict[str, object] = {key: data[key] for key in _OPTIONS}
    options.update(scale=lora["scale"], dropout=lora["dropout"])
    if lora["keys"] is not None:
        options["keys"] = list(lora["keys"])
    return TrainingConfig(
        family=data["family"], model=data["model"], data=data["data"], iterations=data["iters"],
        rank=lora["rank"], num_layers=data["num_layers"], batch_size=data["batch_size"],
        learning_rate=data["learning_rate"], max_seq_length=data["max_seq_length"],
        options=options, source=dict(doc.data),
    )
