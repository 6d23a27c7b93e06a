"""Blend two mlx-lm LoRA adapter folders in weight space (the gate's gentler candidates).

From the base model (no starting adapter) the blend scales every ``lora_b``: the LoRA update
``scale · x·A·B`` then shrinks by exactly ``strength``. From a starting adapter of the same
shape every tensor is interpolated, ``start + strength · (trained − start)``: 0 is the start,
1 the trained adapter (the product A·B is not linear in that mix, but each end is exact and
every point between is a valid adapter of the same shape).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from evotr.domain.errors import EvoTrError
from evotr.infrastructure.mlx.adapter_folder import CONFIG_FILE, WEIGHTS_FILE
from evotr.ports.adapter_blender import AdapterBlender


class MlxAdapterBlender(AdapterBlender):
    """Reads both weight files with MLX and writes the blend beside a copy of the trained config."""

    def blend(self, start: Path | None, trained: Path, strength: float, out: Path) -> None:
        """Write ``out`` (see the port); nothing is written when a check fails."""
        import mlx.core as mx

        if not 0.0 <= strength <= 1.0:
            raise EvoTrError(f"blend strength must be within 0..1, got {strength}")
        weights: dict[str, Any] = mx.load(str(trained / WEIGHTS_FILE))  # type: ignore[assignment]
        if start is None:
            blended = {k: v * strength if k.endswith("lora_b") else v for k, v in weights.items()}
        else:
            origin: dict[str, Any] = mx.load(str(start / WEIGHTS_FILE))  # type: ignore[assignment]
            shapes = {k: tuple(v.shape) for k, v in weights.items()}
            if shapes != {k: tuple(v.shape) for k, v in origin.items()}:
                raise EvoTrError(f"cannot blend {trained} with {start}: their LoRA tensors differ in "
                                 "names or shapes (the trained adapter must start from that one)")
            # The ends exactly (start + 1·(trained − start) rounds differently from trained).
            blended = (weights if strength == 1.0 else origin if strength == 0.0 else
                       {k: origin[k] + strength * (v - origin[k]) for k, v in weights.items()})
        if out.exists() and any(out.iterdir()):
            raise EvoTrError(f"blend output folder {out} is not empty")
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(trained / CONFIG_FILE, out / CONFIG_FILE)
        mx.save_safetensors(str(out / WEIGHTS_FILE), blended)
