"""State shared by the MLX trainers: resuming LoRA weights, freeing a run's memory, spotting OOM."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evotr.infrastructure.mlx.errors import TrainingError


def resume_from(model: Any, file: Path) -> None:
    """Load an earlier adapter's LoRA weights into ``model`` (as ``mlx_lm lora --resume-adapter-file``).

    Every tensor must exist in the model with the same shape: an adapter of another rank or
    other layers is refused by name rather than silently half-loaded.
    """
    import mlx.core as mx
    from mlx.utils import tree_flatten

    if not file.is_file():
        raise TrainingError(f"resume_adapter_file {file} does not exist")
    try:
        weights: dict[str, Any] = dict(mx.load(str(file)))  # type: ignore[arg-type]
    except (OSError, ValueError, RuntimeError) as exc:
        raise TrainingError(f"resume_adapter_file {file} could not be read: {exc}") from exc
    params = dict(tree_flatten(model.parameters()))
    wrong = [f"{name} {tuple(array.shape)} (model: "
             f"{tuple(params[name].shape) if name in params else 'no such weight'})"
             for name, array in weights.items()
             if name not in params or tuple(params[name].shape) != tuple(array.shape)]
    if wrong:
        raise TrainingError(f"resume_adapter_file {file} does not fit this run's LoRA layers (rank, "
                            f"num_layers, keys): {'; '.join(wrong[:3])}")
    model.load_weights(list(weights.items()), strict=False)


def free_memory() -> None:
    """Drop the run's arrays and MLX's buffer cache, so the next model load starts from nothing."""
    import gc

    import mlx.core as mx

    gc.collect()
    mx.clear_cache()


def out_of_memory(exc: BaseException) -> bool:
    """Whether a failed run ran out of memory (MLX raises RuntimeError naming memory)."""
    return isinstance(exc, MemoryError) or "memory" in str(exc).lower()


@contextlib.contextmanager
def staged_output(output_dir: Path) -> Iterator[Path]:
    """A hidden folder beside ``output_dir`` to write a run into, renamed to it on success.

    A crash or Ctrl-C never leaves a half-written adapter at ``output_dir`` (the staging folder is
    removed), and either way the run's model and MLX's buffer cache are freed afterwards, so the
    next model load (a gate, a DPO stage) starts alone. ``output_dir`` must be absent or empty.
    """
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.tmp-", dir=output_dir.parent))
    try:
        yield staging
        if output_dir.exists():
            output_dir.rmdir()  # checked empty by the caller; rmdir fails if that changed meanwhile
        os.replace(staging, output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        free_memory()
