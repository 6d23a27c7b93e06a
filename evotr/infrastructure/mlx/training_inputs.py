"""Checks a training run makes before anything heavy loads: the dataset files and the base model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from evotr.domain.training import TrainingJob
from evotr.infrastructure.mlx.errors import TrainingError


def check_chat_jsonl(path: Path) -> int:
    """Return how many chat examples ``path`` holds; raise TrainingError naming ``file:line`` if bad.

    mlx-lm parses every line with ``json.loads`` and picks the format from the first line only,
    so a blank or off-format line would crash mid-run with no line number.
    """
    if not path.is_file():
        raise TrainingError(f"{path} is missing; the dataset folder needs train.jsonl and valid.jsonl")
    try:
        lines = path.read_text("utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingError(f"{path} cannot be read as UTF-8 text: {exc}") from exc
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if not lines:
        raise TrainingError(f"{path} is empty; write one {{\"messages\": [...]}} object per line")
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        if not line.strip():
            raise TrainingError(f"{where}: blank line; mlx-lm reads every line as one JSON object")
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise TrainingError(f"{where}: not valid JSON ({exc})") from exc
        messages = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(messages, list) or not messages:
            raise TrainingError(f"{where}: expected {{\"messages\": [{{\"role\": ..., \"content\": ...}}]}}")
        for message in messages:
            if not (isinstance(message, dict) and isinstance(message.get("role"), str)
                    and isinstance(message.get("content"), str)):
                raise TrainingError(f"{where}: every message needs string \"role\" and \"content\"")
    return len(lines)


def check_inputs(job: TrainingJob, output_dir: Path) -> tuple[Path, Path]:
    """Fail before loading anything heavy: output free, dataset sound, base model present."""
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise TrainingError(f"output folder {output_dir} already exists and is not empty; "
                            "refusing to overwrite an adapter")
    dataset = Path(job.dataset)
    if not dataset.is_dir():
        raise TrainingError(f"dataset folder {dataset} does not exist; it needs train.jsonl and valid.jsonl")
    for split in ("train", "valid"):
        count = check_chat_jsonl(dataset / f"{split}.jsonl")
        if count < job.batch_size:
            raise TrainingError(f"{dataset / f'{split}.jsonl'} has {count} examples, fewer than "
                                f"batch_size={job.batch_size}; add examples or lower the batch size")
    base = Path(job.base_model)
    if not (base / "config.json").is_file() or not any(base.glob("model*.safetensors")):
        raise TrainingError(f"base model {job.base_model!r} not found: expected a local mlx-lm model "
                            "folder with config.json and model*.safetensors")
    return dataset, base


def fingerprint_model(base: Path) -> str:
    """SHA-256 (16 hex) of the base model's weight index: the weight files' names and sizes.

    Reading gigabytes of weights to hash them would cost more than a short training run; the
    index (mlx-lm's ``model.safetensors.index.json`` where there is one) plus the config and the
    files' sizes tells models apart.
    """
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors.index.json"):
        if (base / name).is_file():
            digest.update(name.encode() + b"\0" + (base / name).read_bytes())
    for weights in sorted(base.glob("model*.safetensors")):
        digest.update(f"{weights.name}\0{weights.stat().st_size}\0".encode())
    return digest.hexdigest()[:16]


def fingerprint_dataset(dataset: Path) -> str:
    """SHA-256 (16 hex) of the dataset's train.jsonl and valid.jsonl contents."""
    digest = hashlib.sha256()
    for split in ("train.jsonl", "valid.jsonl"):
        digest.update(split.encode() + b"\0" + (dataset / split).read_bytes())
    return digest.hexdigest()[:16]
