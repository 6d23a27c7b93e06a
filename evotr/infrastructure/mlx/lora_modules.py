"""Inference LoRA wrappers that cost few, cheap kernels per token, built once per adapter.

mlx-lm's ``LoRALinear`` computes ``y + (scale * ((x @ a) @ b)).astype(x.dtype)``: four ops per
wrapped projection on top of the base layer, and on MLX's CUDA backend its two products, with
``a`` (in, r) and ``b`` (r, out) stored untransposed, are not the matrix-vector kernel but a
cuBLASLt call that asks cuBLAS for an algorithm every time (mlx 0.32). A decode step of a small
model is dominated by such per-op costs, so 56 wrapped projections halved decode speed (issue 14).
:class:`LowRankLinear` computes the same sum differently:

* the arrays are stored as the base layers store weights, ``A^T`` (r, in) and ``B^T`` (out, r),
  and used transposed, so one-row products take MLX's matrix-vector kernel on every backend;
  the adapter's ``scale`` is folded into ``B`` once;
* projections of one block that read the same input (``SHARED_INPUT``: q/k/v of attention,
  gate/up of the MLP) share ONE low-rank product per token (:class:`SharedLowRank`):
  ``x @ [A_q | A_k | A_v]`` and then, against a block-diagonal ``B``, every member's term side by
  side (the zero blocks cost memory: the adapter takes ~1.5x its own size for rank-8 adapters on
  all seven projections of a Qwen2 block);
* the term is added as ``mx.addmm(y, x @ A, B)`` (the add rides in the GEMM) on the CPU and Metal,
  or as ``y + term`` on CUDA, where ``addmm`` is always a cuBLASLt call (``fused_add_default``);
* on CUDA, for decode-sized inputs (up to ``lora_cuda.MAX_ROWS`` rows), a group's whole work
  after its base layers, the low-rank product and every member's add, is ONE kernel launch
  (``lora_cuda.GroupKernel``; the first member called computes its siblings' base outputs too),
  where the matmul path takes ~4 ops per group. Used only after the kernel passed a self-test
  on the device (``lora_cuda.kernel_works``); prompts and other devices take the matmul path.

The sharing is recognised by the very input object: the first member called with ``x`` computes
the product and the others called with the same ``x`` reuse it, once each. Any other call
(another input, a repeated member) computes afresh, so a wrong guess about which projections
share an input can cost speed, never correctness.

The wrappers subclass ``LoRALinear`` and keep its attributes (``linear``; ``lora_a`` (in, r) and
``lora_b`` (r, out) as zero-copy views of the stored arrays, with the scale folded into
``lora_b`` and ``scale`` = 1.0), so ``fuse()``, the layout helpers and the CPU row decoder read
them like mlx-lm's own. They are for inference: no dropout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import mlx.core as mx
import mlx.nn
from mlx_lm.tuner.lora import LoRALinear

from evotr.infrastructure.mlx.lora_cuda import MAX_ROWS, GroupKernel, kernel_works
from evotr.infrastructure.mlx.lora_layout import wrap

# mlx.nn's layer classes are invisible to mypy (compiled module); typed Any on purpose.
nn: Any = mlx.nn

# Sibling projections that the common decoder blocks (Llama, Qwen2, Gemma 3, Mistral ...) call
# with the same input. Sharing gate/up too pads the two largest B matrices (out = the MLP's
# width) to twice their size; on the H200 it decoded faster than attention alone
# (benchmarks/bench_decode.py --variants; README), so it is the default.
SHARED_INPUT_ATTENTION: tuple[tuple[str, ...], ...] = (("q_proj", "k_proj", "v_proj"),)
SHARED_INPUT: tuple[tuple[str, ...], ...] = (("q_proj", "k_proj", "v_proj"), ("gate_proj", "up_proj"))


def fused_add_default() -> bool:
    """``addmm`` on the CPU (one BLAS call) and Metal (a fused kernel); not on CUDA (cuBLASLt)."""
    return bool(mx.default_device().type == mx.DeviceType.cpu or mx.metal.is_available())


class SharedLowRank:
    """The low-rank product of a group of projections, computed once per input they share.

    ``a`` is ``A_cat`` (in, R) and ``b_t`` the block-diagonal ``B^T`` (sum of outs, R); with
    ``fused`` the group hands out ``x @ A_cat`` (each member adds its own rows of ``B`` with
    ``addmm``), else every member's finished term (``x @ A_cat @ B``, split by member). With
    ``linears`` (the members' base layers, on CUDA) :meth:`sums` hands out whole outputs from
    one ``GroupKernel`` launch for inputs of up to ``MAX_ROWS`` rows (``kernel_size``).
    """

    def __init__(self, a: Any, b_t: Any, outs: list[int], fused: bool,
                 linears: list[Any] | None = None) -> None:
        self.a = a
        self.b_t = b_t
        self.b = b_t.T  # (R, sum of outs): a view, made once rather than per call
        self.fused = fused
        self.linears = linears
        self.kernel = None if linears is None else GroupKernel(a.T, b_t, outs)
        # Largest x.size the kernel takes (0: never); one comparison per call decides the path.
        self.kernel_size = 0 if linears is None else MAX_ROWS * int(a.shape[0])
        self._members = len(outs)
        self._splits = [sum(outs[:i]) for i in range(1, len(outs))]
        self._x: Any = None
        self._out: Any = None
        self._waiting: set[int] = set()

    def _reuse(self, member: int, x: Any) -> Any:
        """What a sibling just computed for this very ``x`` (once per member), else None."""
        if x is self._x and member in self._waiting:
            self._waiting.discard(member)
            out = self._out
            if not self._waiting:  # every member had it: drop the references
                self._x = self._out = None
            return out
        return None

    def _keep(self, member: int, x: Any, out: Any) -> Any:
        if self._members > 1:
            self._x, self._out, self._waiting = x, out, set(range(self._members)) - {member}
        return out

    def terms(self, member: int, x: Any) -> Any:
        """``x @ A_cat`` (fused) or ``member``'s term; reused if a sibling just made it for ``x``."""
        out = self._reuse(member, x)
        if out is None:
            out = x @ self.a
            if not self.fused:  # one product for all members, split in one op
                out = mx.split(out @ self.b, self._splits, axis=-1) if self._splits else [out @ self.b]
            self._keep(member, x, out)
        return out if self.fused else out[member]

    def sums(self, member: int, x: Any) -> Any:
        """``member``'s whole output ``linear(x) + term``: all members' from one kernel launch."""
        out = self._reuse(member, x)
        if out is None:
            assert self.kernel is not None and self.linears is not None
            out = self._keep(member, x, self.kernel(x, [linear(x) for linear in self.linears]))
        return out[member]


class LowRankLinear(LoRALinear):
    """``linear(x) + x @ lora_a @ lora_b`` (scale folded into ``lora_b``), as few ops as possible."""

    def __init__(self, linear: Any, shared: SharedLowRank, member: int, ranks: tuple[int, int],
                 rows: tuple[int, int]) -> None:
        nn.Module.__init__(self)  # not LoRALinear.__init__: it would draw random arrays
        self.linear = linear
        self.scale = 1.0
        self._shared = shared
        self._member = member
        # Views, no copies: this member's (R, out) slice of B for addmm, and the LoRALinear
        # attributes. Keys starting with "_" are no parameters, so nothing is counted twice.
        b_rows = shared.b_t[rows[0]:rows[1]]
        self._b = b_rows.T
        self.lora_a = shared.a[:, ranks[0]:ranks[1]]
        self.lora_b = b_rows[:, ranks[0]:ranks[1]].T

    def __call__(self, x: Any) -> Any:
        shared = self._shared
        if x.size <= shared.kernel_size:  # decode on CUDA: one kernel for the group
            return shared.sums(self._member, x)
        # self[...]: plain dict reads; attribute access on a Module takes a failed lookup first.
        y = self["linear"](x)
        if shared.fused:
            return mx.addmm(y, shared.terms(self._member, x), self["_b"])
        return y + shared.terms(self._member, x)


def _fast(base: Any) -> bool:
    return isinstance(base, (nn.Linear, nn.QuantizedLinear)) and not hasattr(base, "to_lora")


def _groups(paths: Iterable[str], shared_input: tuple[tuple[str, ...], ...]) -> list[list[str]]:
    """Paths split into groups of siblings that share an input (singletons for the rest)."""
    found: dict[tuple[str, int], list[str]] = {}
    alone: list[list[str]] = []
    for path in sorted(paths):
        parent, _, name = path.rpartition(".")
        index = next((i for i, names in enumerate(shared_input) if name in names), None)
        if index is None:
            alone.append([path])
        else:
            found.setdefault((parent, index), []).append(path)
    return alone + list(found.values())


def _group(bases: Mapping[str, Any], group: list[str], arrays: Mapping[str, tuple[Any, Any]],
           scale: float, fused: bool, kernel: bool) -> dict[str, LowRankLinear]:
    """The wrappers of one group over a stacked ``A`` and a block-diagonal, scaled ``B^T``."""
    ranks = [int(arrays[path][0].shape[1]) for path in group]
    outs = [int(arrays[path][1].shape[1]) for path in group]
    total = sum(ranks)
    # A^T stacked: (R, in), contiguous like a weight; used through its transposed view.
    a = mx.concatenate([arrays[path][0].T for path in group], axis=0).T
    blocks = []
    for path, rank, start in zip(group, ranks, [sum(ranks[:i]) for i in range(len(group))], strict=True):
        b_t = (scale * arrays[path][1]).astype(arrays[path][1].dtype).T  # (out, r)
        blocks.append(mx.pad(b_t, [(0, 0), (start, total - start - rank)]))
    linears = [bases[path] for path in group]
    # The kernel stores every member's output in one dtype: members of one kind only.
    alike = len({(type(m), m.weight.dtype, "bias" in m) for m in linears}) == 1
    shared = SharedLowRank(a, mx.concatenate(blocks, axis=0), outs, fused,
                           linears if kernel and alike else None)
    out: dict[str, LowRankLinear] = {}
    for member, path in enumerate(group):
        start, row = sum(ranks[:member]), sum(outs[:member])
        out[path] = LowRankLinear(bases[path], shared, member, (start, start + ranks[member]),
                                  (row, row + outs[member]))
    return out


def build_wrappers(bases: Mapping[str, Any], arrays: Mapping[str, tuple[Any, Any]], scale: float,
                   rank: int, shared_input: tuple[tuple[str, ...], ...] = SHARED_INPUT,
                   fused_add: bool | None = None, kernel: bool | None = None) -> dict[str, Any]:
    """One evaluated wrapper per path of ``arrays`` (``(lora_a, lora_b)``) around ``bases[path]``.

    Linear and quantized linear layers get :class:`LowRankLinear` (grouped by ``shared_input``;
    ``fused_add`` None: ``fused_add_default()``; ``kernel``, the CUDA group kernel for decode,
    None: where ``lora_cuda.kernel_works()``); embeddings and switch (MoE) layers get
    mlx-lm's own wrappers with these arrays. Raises ValueError for a layer neither can wrap
    (``fit_problems`` reports those first).
    """
    fused = fused_add_default() if fused_add is None else fused_add
    use_kernel = kernel_works() if kernel is None else kernel
    fast = [path for path in arrays if _fast(bases[path])]
    wrappers: dict[str, Any] = {}
    for group in _groups(fast, shared_input):
        wrappers.update(_group(bases, group, arrays, scale, fused, use_kernel))
    for path in arrays.keys() - set(fast):
        wrapper = wrap(bases[path], rank)
        wrapper["lora_a"], wrapper["lora_b"] = arrays[path]
        wrapper.scale = scale
        wrapper.eval()  # fresh modules start in training mode; dropout must stay off
        wrappers[path] = wrapper
    mx.eval([[w._shared.a, w._shared.b, w["_b"], w["lora_a"], w["lora_b"],
              *([] if w._shared.kernel is None else [w._shared.kernel.a_t])]
             if isinstance(w, LowRankLinear) else [w["lora_a"], w["lora_b"]] for w in wrappers.values()])
    return wrappers
