"""Faster one-token decode on MLX's CPU: one-row fp32 products as ``cblas_sgemv`` of OpenBLAS.

Decoding reads every weight once per token, so it is memory-bound, and MLX computes a one-row
product ``x @ W.T`` with ``cblas_sgemm`` (M = 1), which OpenBLAS 0.3.21 runs at about half the
speed of ``sgemv`` on the same matrix (measured by ``benchmarks/bench_model.py``: Gemma 3 270M
fp32 decode 9.9 → 13.8 tokens/s). So after loading, on the CPU with an optimised BLAS and fp32
weights, each ``nn.Linear`` becomes a :class:`GemvLinear` and a tied embedding a
:class:`GemvEmbedding` (the output layer of Gemma, 262,144 × 640): both hand one-row fp32 inputs
to ``cblas_sgemv`` on zero-copy NumPy views of MLX's own weight buffers, and leave everything
else (prompts, batches, other dtypes) to MLX. The result is exact up to fp32 rounding order.

They subclass ``nn.Linear``/``nn.Embedding``, so mlx-lm's LoRA wrapping, the hot-swap layout and
``fuse`` see the same module types. Training loads its own model and is never changed.
``EVOTR_CPU_DECODE=mlx`` keeps MLX's own kernels.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Mapping
from typing import Any

import mlx.core as mx
import mlx.nn
import numpy as np

# mlx.nn's layer classes are invisible to mypy (compiled module); typed Any on purpose.
nn: Any = mlx.nn

logger = logging.getLogger("evotr.mlx")

ENV = "EVOTR_CPU_DECODE"
_ROW_MAJOR, _NO_TRANS = 101, 111
_SGEMV: Any = None


def _sgemv(library: str) -> Any:
    global _SGEMV
    if _SGEMV is None:
        _SGEMV = ctypes.CDLL(library).cblas_sgemv
        _SGEMV.restype = None
    return _SGEMV


def has_sgemv(library: str) -> bool:
    """Whether ``library`` loads and exports ``cblas_sgemv``."""
    try:
        _sgemv(library)
    except (OSError, AttributeError):
        return False
    return True


def _one_fp32_row(x: Any, weight: Any) -> bool:
    return (x.dtype == mx.float32 and weight.dtype == mx.float32 and weight.ndim == 2
            and int(x.size) == int(x.shape[-1]) == int(weight.shape[1]))


def sgemv_rows(library: str, weight: np.ndarray[Any, Any], row: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``weight @ row`` for a C-contiguous fp32 ``weight`` (rows × cols) and one row of cols."""
    row = np.ascontiguousarray(row, dtype=np.float32).reshape(-1)
    rows, cols = weight.shape
    out = np.empty(rows, dtype=np.float32)
    ptr = ctypes.c_void_p
    _sgemv(library)(_ROW_MAJOR, _NO_TRANS, rows, cols, ctypes.c_float(1.0),
                    ptr(weight.ctypes.data), cols, ptr(row.ctypes.data), 1,
                    ctypes.c_float(0.0), ptr(out.ctypes.data), 1)
    return out


class _RowProduct:
    """``x @ W.T`` for one fp32 row through ``cblas_sgemv`` on a view of ``W`` (no copy)."""

    def __init__(self, library: str) -> None:
        self._library = library
        self._weight: Any = None
        self._view: np.ndarray[Any, Any] | None = None

    def __call__(self, weight: Any, x: Any) -> Any:
        if self._weight is not weight:  # new weights (load_weights, update): view them again
            mx.eval(weight)
            self._view = np.asarray(weight)  # shares MLX's buffer: C-contiguous, read-only use
            self._weight = weight
        view = self._view
        assert view is not None
        mx.eval(x)
        out = sgemv_rows(self._library, view, np.asarray(x, dtype=np.float32))
        return mx.array(out).reshape(*x.shape[:-1], view.shape[0])


class GemvLinear(nn.Linear):  # type: ignore[misc]
    """An ``nn.Linear`` whose one-row fp32 calls run as ``cblas_sgemv``."""

    def __init__(self, linear: Any, library: str) -> None:
        nn.Module.__init__(self)
        self.weight = linear.weight
        if "bias" in linear:
            self.bias = linear.bias
        self._product = _RowProduct(library)

    def __call__(self, x: Any) -> Any:
        if not _one_fp32_row(x, self.weight):
            return super().__call__(x)
        y = self._product(self.weight, x)
        return y + self.bias if "bias" in self else y


class GemvEmbedding(nn.Embedding):  # type: ignore[misc]
    """A tied ``nn.Embedding``: lookups unchanged, its output layer (``as_linear``) as ``sgemv``."""

    def __init__(self, embedding: Any, library: str) -> None:
        nn.Module.__init__(self)
        self.weight = embedding.weight
        self._product = _RowProduct(library)

    def as_linear(self, x: Any) -> Any:
        if not _one_fp32_row(x, self.weight):
            return super().as_linear(x)
        return self._product(self.weight, x)


def _replace(model: Any, library: str) -> int:
    swaps: list[tuple[Any, str, Any]] = []
    for _path, module in model.named_modules():
        for name, child in module.children().items():
            if type(child) is nn.Linear and child.weight.dtype == mx.float32:
                swaps.append((module, name, GemvLinear(child, library)))
            elif type(child) is nn.Embedding and child.weight.dtype == mx.float32:
                swaps.append((module, name, GemvEmbedding(child, library)))
    for parent, name, replacement in swaps:
        setattr(parent, name, replacement)
    return len(swaps)


def use_gemv_decode(model: Any, blas_library: str | None, optimised: bool,
                    env: Mapping[str, str] | None = None) -> int:
    """Swap ``model``'s fp32 linear and embedding layers for the sgemv ones; return how many.

    Only on MLX's CPU with an optimised BLAS (``blas_library`` exporting ``cblas_sgemv``, the
    library MLX itself calls, so the two share one thread pool) and unless ``EVOTR_CPU_DECODE=mlx``.
    Layers already wrapped by LoRA keep their inner ``nn.Linear`` swapped too.
    """
    env = os.environ if env is None else env
    choice = env.get(ENV, "").strip().lower()
    if choice not in ("", "rows", "gemv", "mlx"):
        logger.warning("%s=%r is not rows, gemv or mlx; using the default", ENV, choice)
    if choice == "mlx" or mx.default_device().type != mx.DeviceType.cpu:
        return 0
    if not optimised or not blas_library:
        return 0
    try:
        _sgemv(blas_library)
    except (OSError, AttributeError) as exc:
        logger.warning("no cblas_sgemv in %s (%s); decode keeps MLX's kernels", blas_library, exc)
        return 0
    count = _replace(model, blas_library)
    if count:
        logger.info("CPU decode: %d fp32 layers compute one-row products with cblas_sgemv (%s=mlx "
                    "turns this off)", count, ENV)
    return count
