"""Other ways to compute the same adapter, for ``bench_decode.py --variants`` (issue 14 item 3).

Each variant is a set of modules to put into the PLAIN model at the adapter's paths; the
benchmark puts them in for a decode and the original modules back afterwards, interleaved with
the plain model and evotr's own modes, so every ratio is against the same plain runs:

* ``stock-fp32``: mlx-lm's ``LoRALinear`` with the arrays as ``mlx_lm.load(..., adapter_path)``
  holds them (float32, also in a bf16 model);
* ``stock``: the same class with the arrays in the model's dtype: evotr before issue 14;
* ``<add>+<shared>``: evotr's ``LowRankLinear`` (transposed arrays, scale folded in) with the
  term added by ``addmm`` or by a plain ``+`` (``add``), and no shared product (``none``), one for
  q/k/v (``qkv``) or one for q/k/v and one for gate/up (``all``, evotr's default), or with the
  CUDA group kernel (``kernel``: one launch per group for decode, ``lora_cuda``). evotr ships
  ``addmm+all`` on the CPU and Metal and ``kernel+all`` on CUDA where the kernel passes its
  self-test, else ``add+all`` (its ``adapter`` mode);
* ``compiled``: ``LoRALinear`` whose ``y + scale * (x @ a) @ b`` is one ``mx.compile``d function;
* ``merged`` (unquantized models only): the adapter added into copies of the weights
  (``W + scale * (A B)^T``): no LoRA work at all per token, but a full copy of every adapted
  weight matrix per adapter; its build time and bytes are recorded. A 4-bit model would need
  re-quantizing after the merge, which changes the base weights themselves: not measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.tuner.lora import LoRALinear

NAMES = ("stock-fp32", "stock", "compiled", "add+none", "add+qkv", "add+all", "addmm+all", "kernel+all",
         "merged")
_ADD = {"addmm": (True, False), "add": (False, False), "kernel": (False, True)}  # (fused, kernel)
_SHARED = ("none", "qkv", "all")


class CompiledLoRA(LoRALinear):  # type: ignore[misc]
    """mlx-lm's LoRA sum as one compiled function (the matmuls stay kernels of their own)."""

    def __init__(self, linear: Any, a: Any, b: Any, scale: float) -> None:
        nn.Module.__init__(self)
        self.linear, self.lora_a, self.lora_b, self.scale = linear, a, b, scale

        def delta(y: Any, x: Any) -> Any:
            return y + (scale * ((x @ a) @ b)).astype(x.dtype)

        self._delta = mx.compile(delta)

    def __call__(self, x: Any) -> Any:
        return self._delta(self.linear(x), x)


def _stock(base: Any, a: Any, b: Any, scale: float) -> Any:
    wrapper = LoRALinear.from_base(base, r=int(a.shape[1]), scale=scale, dropout=0.0)
    wrapper.lora_a, wrapper.lora_b = a, b
    wrapper.eval()
    return wrapper


def _merged(base: Any, a: Any, b: Any, scale: float) -> Any:
    weight = base.weight
    merged = nn.Linear(int(weight.shape[1]), int(weight.shape[0]), bias="bias" in base)
    merged.weight = weight + ((scale * b.T) @ a.T).astype(weight.dtype)
    if "bias" in base:
        merged.bias = base.bias
    from evotr.infrastructure.mlx.decode_gemv import GemvLinear

    if isinstance(base, GemvLinear):
        # On the CPU the plain model computes one-row products as sgemv: so must the merged one.
        from evotr.infrastructure.mlx.blas import prepare_blas

        merged = GemvLinear(merged, str(prepare_blas().path))
    return merged


def known(name: str) -> bool:
    """Whether ``name`` is a variant: one of ``NAMES`` or any ``{addmm|add|kernel}+{none|qkv|all}``."""
    add, _, groups = name.partition("+")
    return name in NAMES or (add in _ADD and groups in _SHARED)


def build(name: str, bases: dict[str, Any], adapter: Path,
          dtype: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(path -> module to put in, facts)`` for variant ``name`` of the adapter in ``adapter``."""
    from shaped_adapters import adapter_version

    from evotr.infrastructure.mlx.adapter_folder import read_adapter_folder
    from evotr.infrastructure.mlx.lora_modules import SHARED_INPUT, SHARED_INPUT_ATTENTION, build_wrappers

    folder = read_adapter_folder(adapter_version(0), adapter)
    raw = folder.modules
    cast = {path: (a.astype(dtype), b.astype(dtype)) for path, (a, b) in raw.items()}
    mine = {path: bases[path] for path in raw}
    started = time.perf_counter()
    add, _, groups = name.partition("+")
    if add in _ADD and groups in _SHARED:
        shared = {"none": (), "qkv": SHARED_INPUT_ATTENTION, "all": SHARED_INPUT}[groups]
        fused, kernel = _ADD[add]
        if kernel:
            from evotr.infrastructure.mlx.lora_cuda import kernel_works

            if not kernel_works():
                return {}, {"skipped": "no CUDA device, or the kernel failed its self-test"}
        modules = build_wrappers(mine, cast, folder.scale, folder.rank, shared, fused, kernel)
    else:
        if name == "merged" and any(isinstance(m, nn.QuantizedLinear) for m in mine.values()):
            return {}, {"skipped": "4-bit weights: merging needs re-quantizing the base"}
        make: dict[str, Callable[..., Any]] = {"stock-fp32": _stock, "stock": _stock,
                                               "compiled": CompiledLoRA, "merged": _merged}
        arrays = raw if name == "stock-fp32" else cast
        modules = {path: make[name](mine[path], *arrays[path], folder.scale) for path in raw}
        mx.eval([m.parameters() for m in modules.values()])
    facts: dict[str, Any] = {"build_ms": (time.perf_counter() - started) * 1000}
    if name == "merged":
        facts["merged_weight_bytes"] = sum(int(m.weight.nbytes) for m in modules.values())
    return modules, facts


class Installed:
    """Put ``modules`` into ``model`` at their paths; ``remove()`` puts the originals back."""

    def __init__(self, model: Any, modules: dict[str, Any]) -> None:
        self._stores = []
        for path, module in modules.items():
            parent_path, _, key = path.rpartition(".")
            parent = model
            for part in parent_path.split("."):
                parent = parent[int(part)] if isinstance(parent, list) else parent[part]
            slot = int(key) if isinstance(parent, list) else key
            self._stores.append((parent, slot, parent[slot], module))
        for parent, slot, _original, module in self._stores:
            parent[slot] = module

    def remove(self) -> None:
        """The original modules back in their places."""
        for parent, slot, original, _module in self._stores:
            parent[slot] = original
