"""Decode-speed ideas for Gemma 3 270M on MLX's CPU, applied to a loaded fp32 model (bench_model.py).

Decoding one token reads every weight once: ~400 MB for the 18 blocks and 671 MB for the tied
262,144 × 640 embedding that is also the output layer, so it is memory-bound. Each idea here
changes how that output layer (or every linear layer) is computed, and says whether the result
is exact:

- ``q8-out`` / ``q4-out``: only the tied embedding/output matrix quantized (group 64, fp32
  scales), the rest fp32. Slightly lossy; perplexity shows the cost.
- ``latin-vocab``: APPROXIMATE. Logits only for the 152,777 tokens written in ASCII/Turkish
  letters (everything EN/TR/Python needs); every other token gets -inf, so it can never be
  produced, and perplexity is renormalised over the kept tokens.
- ``gemv-out`` / ``gemv-all``: exact up to fp32 rounding. MLX computes a one-row matmul with
  ``cblas_sgemm`` (M = 1), which OpenBLAS 0.3.21 runs at about half the speed of ``sgemv``;
  these hand one-row products of the output layer (or of every linear layer) to ``cblas_sgemv``
  on zero-copy views of MLX's weights. Prompts (many rows) stay in MLX. ``gemv-all`` is what
  EVO-TR itself does (``evotr.infrastructure.mlx.decode_gemv``), so it runs that code.
- ``gemv-all+latin-vocab``: both; APPROXIMATE like ``latin-vocab``.
- ``rows``: exact up to fp32 rounding, and what EVO-TR serves on the CPU: ``gemv-all`` plus every
  one-token step computed in NumPy + sgemv on the calling thread
  (``evotr.infrastructure.mlx.row_decoder``), so MLX's per-op hand-overs to its stream thread
  (~40 % of a token with ``gemv-all``) are gone. Prompts stay in MLX.
"""

from __future__ import annotations

import ctypes
import re
from typing import Any

# Import this module only after the BLAS is chosen (bench_model's worker does): it imports mlx.
import mlx.core as mx
import mlx.nn as nn
import numpy as np

VARIANTS = ("q8-out", "q4-out", "latin-vocab", "gemv-out", "gemv-all", "gemv-all+latin-vocab",
            "rows")
APPROXIMATE = {"latin-vocab", "gemv-all+latin-vocab"}
EXACT = {"gemv-out", "gemv-all", "rows"}  # fp32 weights and results, up to the order of the sums
_LATIN = re.compile(r"^[\x00-\x7f▁çğıöşüÇĞİÖŞÜâîûÂÎÛ]*$")  # ▁ is SentencePiece's space


_BLAS: Any = None


def _sgemv() -> Any:
    """``cblas_sgemv`` of the BLAS MLX itself uses (one thread pool, not two fighting for 2 cores)."""
    global _BLAS
    if _BLAS is None:
        from evotr.infrastructure.mlx.blas import prepare_blas

        path = prepare_blas().path
        _BLAS = ctypes.CDLL(path) if path else None
    return _BLAS.cblas_sgemv if _BLAS is not None else None


def _gemv(weight_np: Any, x: Any) -> Any:
    """``x @ weight.T`` for a one-row ``x`` through ``cblas_sgemv``; evaluates ``x`` first."""
    mx.eval(x)
    row = np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(-1))
    rows, cols = weight_np.shape
    out = np.empty(rows, dtype=np.float32)
    sgemv = _sgemv()
    if sgemv is None:  # no BLAS path known: NumPy's own
        out = weight_np @ row
    else:  # row-major (101), no transpose (111): out = W @ row
        ptr = ctypes.c_void_p
        sgemv(101, 111, rows, cols, ctypes.c_float(1.0), ptr(weight_np.ctypes.data), cols,
              ptr(row.ctypes.data), 1, ctypes.c_float(0.0), ptr(out.ctypes.data), 1)
    return mx.array(out).reshape(*x.shape[:-1], rows)


def _one_row(x: Any) -> bool:
    return int(x.size) == int(x.shape[-1])


class _OutputLayer(nn.Module):
    """The tied embedding: lookups unchanged, ``as_linear`` (the output layer) replaced."""

    def __init__(self, embedding: Any, mode: str, keep: Any = None) -> None:
        super().__init__()
        self.inner = embedding
        self._mode = mode
        self._keep = keep
        weight = embedding.weight if keep is None else embedding.weight[keep]
        self._rows = weight
        self._rows_np = np.asarray(weight) if mode in ("gemv", "gemv-vocab") else None

    def __call__(self, ids: Any) -> Any:
        return self.inner(ids)

    def as_linear(self, x: Any) -> Any:
        if self._mode == "gemv":
            return _gemv(self._rows_np, x) if _one_row(x) else self.inner.as_linear(x)
        # "vocab" / "gemv-vocab": logits of the kept tokens only (as sgemv for one row)
        one = self._mode == "gemv-vocab" and _one_row(x)
        sub = _gemv(self._rows_np, x) if one else x @ self._rows.T
        full = mx.full((*sub.shape[:-1], self.inner.weight.shape[0]), -mx.inf, dtype=sub.dtype)
        return mx.put_along_axis(full, mx.broadcast_to(self._keep, sub.shape), sub, axis=-1)


def latin_tokens(tokenizer: Any) -> Any:
    """Ids of the tokens written only in ASCII, Turkish letters and SentencePiece's space mark."""
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    keep = [i for i, piece in enumerate(pieces) if piece is not None and _LATIN.match(piece)]
    return mx.array(keep, dtype=mx.uint32)


def apply_variant(model: Any, tokenizer: Any, variant: str) -> dict[str, Any]:
    """Change the loaded fp32 Gemma ``model`` in place; returns facts for the results."""
    inner = model.model
    if variant in ("q8-out", "q4-out"):
        bits = 8 if variant == "q8-out" else 4
        nn.quantize(model, group_size=64, bits=bits,
                    class_predicate=lambda path, _module: path == "model.embed_tokens")
        mx.eval(model.parameters())
        return {"output_bits": bits}
    if variant == "latin-vocab":
        keep = latin_tokens(tokenizer)
        inner.embed_tokens = _OutputLayer(inner.embed_tokens, "vocab", keep)
        mx.eval(inner.embed_tokens._rows)
        return {"kept_tokens": int(keep.size)}
    if variant == "gemv-out":
        inner.embed_tokens = _OutputLayer(inner.embed_tokens, "gemv")
        return {}
    if variant in ("gemv-all", "gemv-all+latin-vocab", "rows"):
        from evotr.infrastructure.mlx.blas import prepare_blas
        from evotr.infrastructure.mlx.decode_gemv import use_gemv_decode

        status = prepare_blas()
        facts: dict[str, Any] = {"gemv_layers": use_gemv_decode(model, status.path, status.optimised)}
        if variant.endswith("latin-vocab"):
            keep = latin_tokens(tokenizer)
            inner.embed_tokens = _OutputLayer(inner.embed_tokens, "gemv-vocab", keep)
            mx.eval(inner.embed_tokens._rows)
            facts["kept_tokens"] = int(keep.size)
        return facts
    raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")


def generation_model(model: Any, variant: str | None) -> Any:
    """What ``stream_generate`` is handed for ``variant``: the model, or the row-decoding view."""
    if variant != "rows":
        return model
    from evotr.infrastructure.mlx.blas import prepare_blas
    from evotr.infrastructure.mlx.row_decoding import for_generation, row_decoder_for

    status = prepare_blas()
    decoder = row_decoder_for(model, status.path, status.optimised)
    if decoder is None:
        raise RuntimeError("the row decoder does not apply here (it needs fp32 Gemma 3 and OpenBLAS)")
    return for_generation(model, decoder)
