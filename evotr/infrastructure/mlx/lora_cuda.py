"""One CUDA kernel for a whole group's LoRA term and add, for decode-sized inputs (issue 14).

On MLX's CUDA backend a decode step of a small model costs per op, not per byte: with the
matmul path (``lora_modules``) a block's LoRA work is ~17 small kernels (two products, a split
and an add per group of projections that share an input), about 0.9 ms a token for 8 blocks
of a 3B model. This kernel does a group's work in ONE launch for inputs of a few rows:

    h = x @ A_cat           (each thread block recomputes it: R x in, tiny, read from L2)
    out_m = y_m + h @ B_m   (one thread per output element, all members of the group)

where ``y_m`` are the members' base outputs (computed by the base layers as in the plain
model). Sums are in float32 and rounded once, at the output, so the result is at least as
close to stock mlx-lm (whose LoRA arrays stay float32) as the matmul path's.

Used only where :func:`kernel_works` says so: on a CUDA device, after a self-test against the
matmul maths passed; anywhere else (CPU, Metal, a failed compile) the matmul path runs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import mlx.core as mx

logger = logging.getLogger(__name__)

# Rows (tokens x batch) up to which the kernel is used: each thread block recomputes x @ A for
# its row, which is free for decode and wasteful for a prompt (that takes the matmul path).
MAX_ROWS = 4
_THREADS = 256  # threads per block; the grid is padded to a multiple so blocks stay whole

_HEADER = """
template <typename U> __device__ inline float evotr_f32(U v) { return static_cast<float>(v); }
template <typename U> __device__ inline U evotr_from_f32(float v) { return static_cast<U>(v); }
"""

# The body before the members' stores; template constants: T (x), Y (y, out), W (A, B), IN, R,
# NT (the group's outputs) and N0.. (each member's).
_BODY = """
  constexpr int THREADS = 256;
  const int row = blockIdx.y;
  __shared__ float part[THREADS / 32][R];
  __shared__ float h[R];
  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = 0.f;
  const T* xr = x + (size_t)row * IN;
  for (int i = threadIdx.x; i < IN; i += THREADS) {
    const float xi = evotr_f32(xr[i]);
#pragma unroll
    for (int r = 0; r < R; ++r) acc[r] += xi * evotr_f32(a_t[(size_t)r * IN + i]);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    float v = acc[r];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) part[warp][r] = v;
  }
  __syncthreads();
  if (threadIdx.x < R) {
    float s = 0.f;
    for (int w = 0; w < THREADS / 32; ++w) s += part[w][threadIdx.x];
    h[threadIdx.x] = s;
  }
  __syncthreads();
  const int j = blockIdx.x * THREADS + threadIdx.x;
  if (j >= NT) return;
  float t = 0.f;
  const W* bj = b_t + (size_t)j * R;
#pragma unroll
  for (int r = 0; r < R; ++r) t += h[r] * evotr_f32(bj[r]);
"""

# One store per member m: elements [S_m, S_m + N_m) of the group's output are member m's
# (S_m = N_0 + ... + N_{m-1}; the N_m are template constants, so the source depends only on
# the member count and every size gets its own kernel name).
_STORE = """
  {else_}if (j < {end}) {{
    const size_t k = (size_t)row * N{m} + (j - ({start}));
    o{m}[k] = evotr_from_f32<Y>(evotr_f32(y{m}[k]) + t);
  }}"""


def kernel_source(members: int) -> str:
    """The kernel body for a group of ``members`` projections."""
    stores = []
    for m in range(members):
        start = " + ".join(f"N{i}" for i in range(m)) or "0"
        end = " + ".join(f"N{i}" for i in range(m + 1))
        stores.append(_STORE.format(else_="else " if m else "", end=end, start=start, m=m))
    return _BODY + "".join(stores) + "\n"


class GroupKernel:
    """Callable ``(x, ys) -> [y_m + x @ A_m @ B_m]`` for one group, in one kernel launch.

    ``a_t`` is ``A_cat^T`` (R, in) and ``b_t`` the block-diagonal ``B^T`` (sum of outs, R), both
    row-contiguous, as :class:`~evotr.infrastructure.mlx.lora_modules.SharedLowRank` stores them.
    """

    def __init__(self, a_t: Any, b_t: Any, outs: Sequence[int]) -> None:
        self.a_t, self.b_t = a_t, b_t
        self._outs = [int(n) for n in outs]
        rank, features = int(a_t.shape[0]), int(a_t.shape[1])
        total = sum(self._outs)
        members = len(self._outs)
        self._kernel: Any = mx.fast.cuda_kernel(
            name=f"evotr_lora_group{members}",
            input_names=["x", "a_t", "b_t", *(f"y{m}" for m in range(members))],
            output_names=[f"o{m}" for m in range(members)],
            source=kernel_source(members), header=_HEADER)
        self._constants = [("W", a_t.dtype), ("IN", features), ("R", rank), ("NT", total),
                           *((f"N{m}", n) for m, n in enumerate(self._outs))]
        self._width = -(-total // _THREADS) * _THREADS

    def __call__(self, x: Any, ys: Sequence[Any]) -> list[Any]:
        """Every member's ``y + term``, shaped like its ``y``; ``x`` has at most ``MAX_ROWS`` rows.

        The ``ys`` share one dtype (a group's members are layers of one kind; ``lora_modules``
        checks that before it builds a kernel).
        """
        rows = x.size // int(self.a_t.shape[1])
        return list(self._kernel(
            inputs=[x, self.a_t, self.b_t, *ys],
            template=[("T", x.dtype), ("Y", ys[0].dtype), *self._constants],
            grid=(self._width, rows, 1), threadgroup=(_THREADS, 1, 1),
            output_shapes=[y.shape for y in ys], output_dtypes=[ys[0].dtype] * len(ys)))


@functools.cache
def kernel_works() -> bool:
    """Whether the group kernel can be used here: a CUDA default device and a passed self-test."""
    try:
        if mx.default_device().type != mx.DeviceType.gpu or not mx.cuda.is_available():
            return False
        return _self_test()
    except Exception as exc:  # a compile or launch failure: the matmul path stays
        logger.warning("LoRA group kernel unavailable, the matmul path is used: %s", exc)
        return False


def _self_test() -> bool:
    """The kernel against the matmul maths on a small group (3 members, 2 rows, 2 blocks, bf16).

    Every input is random, so a wrong index (row, member, block) shows; the tolerance is a few
    bf16 roundings of the output.
    """
    keys = mx.random.split(mx.random.key(14), 6)
    outs, rank, features = [40, 24, 300], 12, 96
    a_t = mx.random.normal((rank, features), key=keys[0]).astype(mx.bfloat16)
    b_t = (0.1 * mx.random.normal((sum(outs), rank), key=keys[1])).astype(mx.bfloat16)
    x = mx.random.normal((1, 2, features), key=keys[2]).astype(mx.bfloat16)
    ys = [mx.random.normal((1, 2, n), key=keys[3 + m]).astype(mx.bfloat16) for m, n in enumerate(outs)]
    got = GroupKernel(a_t, b_t, outs)(x, ys)
    term = x.astype(mx.float32) @ a_t.T.astype(mx.float32) @ b_t.T.astype(mx.float32)
    want = mx.split(term, [sum(outs[:i]) for i in range(1, len(outs))], axis=-1)
    ok = all(bool(mx.allclose(g.astype(mx.float32), y.astype(mx.float32) + w, rtol=2e-2, atol=2e-2).item())
             and g.shape == y.shape and g.dtype == y.dtype for g, y, w in zip(got, ys, want, strict=True))
    if not ok:
        logger.warning("LoRA group kernel failed its self-test: not used, the matmul path runs")
    return ok
