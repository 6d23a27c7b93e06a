"""The CPU precision rule: on MLX's CPU backend, run half-precision models in float32.

MLX's CPU kernels multiply 4-bit weights with bfloat16 scales about 8x slower than with
float32 scales, and have no fast bf16/fp16 matmuls at all; on the GPU half precision is the
fast path. So on the CPU every bf16/fp16 parameter (quantization scales and biases, norms,
unquantized embeddings) is cast to float32 once after loading, and activations follow.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import mlx.core as mx
from mlx.utils import tree_flatten, tree_map

logger = logging.getLogger("evotr.mlx")

_HALF = (mx.bfloat16, mx.float16)


def is_cpu(device: Any = None) -> bool:
    """Whether ``device`` (default: MLX's default device) is the CPU."""
    device = mx.default_device() if device is None else device
    return bool(device.type == mx.DeviceType.cpu)


def float32_on_cpu(model: Any, device: Any = None) -> int:
    """On the CPU, cast every bf16/fp16 parameter of ``model`` to float32; return how many.

    Integer arrays (packed quantized weights) are left alone; on another device nothing changes.
    """
    if not is_cpu(device):
        return 0
    flat: list[tuple[str, Any]] = tree_flatten(model.parameters())  # type: ignore[assignment]
    half = [name for name, value in flat if value.dtype in _HALF]
    if not half:
        return 0
    model.update(tree_map(lambda p: p.astype(mx.float32) if p.dtype in _HALF else p,
                          model.parameters()))
    mx.eval(model.parameters())
    logger.info("CPU device: cast %d bf16/fp16 parameters to float32 (quantized matmuls with "
                "float32 scales are several times faster on MLX's CPU backend)", len(half))
    return len(half)


def compute_dtype(model: Any) -> Any:
    """The floating dtype most of ``model``'s floating parameters have (float32 if none)."""
    flat: list[tuple[str, Any]] = tree_flatten(model.parameters())  # type: ignore[assignment]
    counts = Counter(v.dtype for _, v in flat if mx.issubdtype(v.dtype, mx.floating))
    return counts.most_common(1)[0][0] if counts else mx.float32
