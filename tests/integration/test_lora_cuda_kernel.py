"""The CUDA group kernel of the LoRA wrappers (issue 14): the path around it, and its source.

This machine has no CUDA device, so the kernel itself runs only on the lent GPU (where
``lora_cuda.kernel_works`` self-tests it and ``benchmarks/bench_decode.py`` checks the model's
logits against stock mlx-lm). Here: the wrappers' kernel path with a stand-in kernel that does
the same maths (one call per group and input, siblings served the same outputs, prompts on the
matmul path), that the kernel is off without CUDA, and that the generated source compiles for
Hopper where ``nvcc`` exists.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, ClassVar

import mlx.core as mx
import mlx.nn as nn
import pytest

from evotr.infrastructure.mlx import lora_cuda, lora_modules
from evotr.infrastructure.mlx.lora_modules import SHARED_INPUT, build_wrappers


class _MatmulKernel:
    """Stands in for ``GroupKernel``: the same outputs from matmuls, and a call count."""

    calls: ClassVar[list[int]] = []

    def __init__(self, a_t: Any, b_t: Any, outs: list[int]) -> None:
        self.a_t, self.b_t, self.outs = a_t, b_t, outs

    def __call__(self, x: Any, ys: list[Any]) -> list[Any]:
        assert x.size <= lora_cuda.MAX_ROWS * self.a_t.shape[1]
        _MatmulKernel.calls.append(len(ys))
        term = (x @ self.a_t.T) @ self.b_t.T
        parts = mx.split(term, [sum(self.outs[:i]) for i in range(1, len(self.outs))], axis=-1)
        return [y + t for y, t in zip(ys, parts, strict=True)]


def _block() -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    sizes = {"attn.q_proj": (16, 16), "attn.k_proj": (16, 8), "attn.v_proj": (16, 8),
             "attn.o_proj": (16, 16), "mlp.gate_proj": (16, 24), "mlp.up_proj": (16, 24),
             "mlp.down_proj": (24, 16)}
    bases = {path: nn.Linear(i, o, bias=path.startswith("attn.") and path != "attn.o_proj")
             for path, (i, o) in sizes.items()}
    arrays = {path: (mx.random.normal((i, 4)), mx.random.normal((4, o))) for path, (i, o) in sizes.items()}
    return bases, arrays


def test_the_kernel_path_computes_each_groups_outputs_once_and_prompts_take_the_matmul_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lora_modules, "GroupKernel", _MatmulKernel)
    _MatmulKernel.calls = []
    bases, arrays = _block()
    wrappers = build_wrappers(bases, arrays, 2.0, 4, SHARED_INPUT, fused_add=False, kernel=True)
    assert all(w._shared.kernel is not None for w in wrappers.values())
    token, other, wide = (mx.random.normal((1, 1, n)) for n in (16, 16, 24))
    prompt = mx.random.normal((1, lora_cuda.MAX_ROWS + 1, 16))
    q, k, v, o = (f"attn.{n}_proj" for n in "qkvo")
    gate, up, down = (f"mlp.{n}_proj" for n in ("gate", "up", "down"))
    calls = [(q, token), (k, token), (v, token),  # one launch for the group
             (k, token),  # k again: a new pass, one launch (q and v would be served from it)
             (q, other), (v, other), (k, other),  # another input: never the stale outputs
             (q, prompt), (k, prompt), (gate, prompt),  # prompts: the matmul path, no launch
             (gate, token), (up, token), (up, other), (gate, other), (o, token), (down, wide)]
    for path, x in calls:
        a, b = arrays[path]
        want = bases[path](x) + 2.0 * ((x @ a) @ b)
        assert mx.allclose(wrappers[path](x), want, atol=1e-4, rtol=1e-4).item(), (path, x.shape)
    assert _MatmulKernel.calls == [3, 3, 3, 2, 2, 1, 1]


def test_without_cuda_the_kernel_is_off_and_the_wrappers_use_the_matmul_path() -> None:
    assert lora_cuda.kernel_works() is False  # a CPU device: no self-test is even attempted
    bases, arrays = _block()
    wrappers = build_wrappers(bases, arrays, 2.0, 4, SHARED_INPUT)
    assert all(w._shared.kernel is None and w._shared.kernel_size == 0 for w in wrappers.values())


def _as_mlx_builds_it(members: int, constants: list[tuple[str, Any]]) -> str:
    """The source MLX's ``cuda_kernel`` compiles (mlx/backend/cuda/custom_kernel.cpp, 0.32)."""
    types = dict(constants)
    lines = ['#include "mlx/backend/cuda/device/utils.cuh"', "#include <cooperative_groups.h>",
             lora_cuda._HEADER, "namespace mlx::core::cu {", "namespace cg = cooperative_groups;",
             f"__global__ void custom_kernel_evotr_lora_group{members}("]
    params = [f"const {types['T']}* x", f"const {types['W']}* a_t", f"const {types['W']}* b_t",
              *(f"const {types['Y']}* y{m}" for m in range(members)),
              *(f"{types['Y']}* o{m}" for m in range(members))]
    lines.append(",\n".join(params) + ") {")
    lines += [f"  using {k} = {v};" if isinstance(v, str) else f"  constexpr int {k} = {v};"
              for k, v in constants]
    lines += [lora_cuda.kernel_source(members), "}", "}  // namespace mlx::core::cu"]
    return "\n".join(lines)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc on this machine")
@pytest.mark.parametrize(("members", "types"), [(3, ("__nv_bfloat16",) * 3), (2, ("__half",) * 3),
                                                (1, ("__nv_bfloat16", "__nv_bfloat16", "float"))])
def test_the_generated_kernel_source_compiles_for_hopper(tmp_path: Path, members: int,
                                                         types: tuple[str, str, str]) -> None:
    # MLX's own device header is not in the CPU wheel; the kernel needs only the CUDA types.
    stub = tmp_path / "mlx/backend/cuda/device/utils.cuh"
    stub.parent.mkdir(parents=True)
    stub.write_text("#pragma once\n#include <cuda_bf16.h>\n#include <cuda_fp16.h>\n")
    outs = [2048, 256, 256][:members]
    constants = [("T", types[0]), ("Y", types[1]), ("W", types[2]), ("IN", 2048), ("R", 8 * members),
                 ("NT", sum(outs)), *((f"N{m}", n) for m, n in enumerate(outs))]
    source = tmp_path / "kernel.cu"
    source.write_text(_as_mlx_builds_it(members, constants))
    done = subprocess.run(["nvcc", "-std=c++17", "-arch=sm_90a", f"-I{tmp_path}", "-ptx", str(source),
                           "-o", str(tmp_path / "kernel.ptx")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
