"""Hand a generation's one-token steps to the :class:`RowDecoder` where the model allows it.

``mlx_lm.stream_generate`` calls ``model(tokens, cache=caches)``: once with the prompt (many rows,
which MLX computes well), then once per new token. :class:`RowDecodingModel` is what the backend
passes to it instead of the model: prompt calls go to MLX unchanged; one-token calls go to the
decoder, on a NumPy mirror of that generation's caches. Each generation has its own mirror
(keyed by its first cache object), so interleaved streams stay apart; if MLX is asked to
continue a mirrored cache, the mirror is written back first.

``EVOTR_CPU_DECODE``: unset or ``rows`` — this where it applies (gemma3_text, fp32 weights, MLX
on the CPU with an optimised BLAS), else one-row products as sgemv; ``gemv`` — only the latter;
``mlx`` — MLX's own kernels for everything.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Mapping
from typing import Any

import mlx.core as mx

from evotr.infrastructure.mlx.decode_gemv import ENV, has_sgemv
from evotr.infrastructure.mlx.row_decoder import RowDecoder

logger = logging.getLogger("evotr.mlx")

_FLOAT32 = mx.float32


def _weights_fp32(model: Any) -> bool:
    """Every linear/embedding weight (also inside LoRA wrappers) is fp32 and unquantized."""
    for _path, module in model.named_modules():
        if "scales" in module:  # QuantizedLinear / QuantizedEmbedding
            return False
        if "weight" in module and module.weight.dtype != _FLOAT32:
            return False
    return True


def why_not_rows(model: Any) -> str | None:
    """None when :class:`RowDecoder` computes ``model`` exactly; else the reason it cannot."""
    from mlx.nn import RoPE  # type: ignore[attr-defined]  # compiled module, invisible to mypy

    if getattr(model, "model_type", None) != "gemma3_text":
        return f"model type {getattr(model, 'model_type', None)!r} (only gemma3_text)"
    if not getattr(model, "tie_word_embeddings", False):
        return "an untied output layer"
    if not _weights_fp32(model):
        return "weights that are not fp32"
    for layer in model.model.layers:
        rope = layer.self_attn.rope
        if type(rope) is not RoPE or rope.traditional or rope.dims != layer.self_attn.head_dim:
            return f"a RoPE it does not compute ({type(rope).__name__})"
    return None


def row_decoder_for(model: Any, blas_library: str | None, optimised: bool,
                    env: Mapping[str, str] | None = None) -> RowDecoder | None:
    """A decoder for ``model``'s one-token steps, or None (then MLX and sgemv layers decode)."""
    env = os.environ if env is None else env
    choice = env.get(ENV, "").strip().lower()
    if choice in ("mlx", "gemv") or mx.default_device().type != mx.DeviceType.cpu:
        return None
    if not optimised or not blas_library or not has_sgemv(blas_library):
        return None
    reason = why_not_rows(model)
    if reason is not None:
        logger.info("CPU decode: one-token steps stay in MLX (%s)", reason)
        return None
    logger.info("CPU decode: one-token steps run in NumPy + cblas_sgemv (%s=gemv or mlx turns "
                "this off)", ENV)
    return RowDecoder(model, blas_library)


def prepare_cpu_decode(model: Any) -> RowDecoder | None:
    """Both CPU decode paths for a freshly loaded ``model``: sgemv layers, and a row decoder if it applies."""
    from evotr.infrastructure.mlx.blas import prepare_blas
    from evotr.infrastructure.mlx.decode_gemv import use_gemv_decode

    blas = prepare_blas()
    use_gemv_decode(model, blas.path, blas.optimised)
    return row_decoder_for(model, blas.path, blas.optimised)


class RowDecodingModel:
    """The model as ``stream_generate`` should see it: one-token steps on ``decoder``."""

    def __init__(self, model: Any, decoder: RowDecoder) -> None:
        self._model = model
        self._decoder = decoder
        self._mirrors: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    def __call__(self, inputs: Any, cache: Any = None, input_embeddings: Any = None) -> Any:
        one_token = (input_embeddings is None and cache and inputs.ndim == 2
                     and tuple(inputs.shape) == (1, 1))
        if not one_token:
            mirror = self._mirrors.pop(cache[0], None) if cache else None
            if mirror is not None:  # MLX continues this cache: give it every position so far
                mirror.write_back(cache)
            if input_embeddings is not None:
                return self._model(inputs, cache=cache, input_embeddings=input_embeddings)
            return self._model(inputs, cache=cache)
        mirror = self._mirrors.get(cache[0])
        if mirror is None:
            mirror = self._decoder.cache_from(cache)
            self._mirrors[cache[0]] = mirror
        logits = self._decoder.step(int(inputs.item()), mirror)
        return mx.array(logits).reshape(1, 1, -1)

    def make_cache(self) -> Any:
        """The model's own cache objects (mlx-lm's ``make_prompt_cache`` asks for them)."""
        return self._model.make_cache()

    @property
    def layers(self) -> Any:
        """The model's layers (mlx-lm counts them to size caches)."""
        return self._model.layers

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def for_generation(model: Any, decoder: RowDecoder | None) -> Any:
    """What to hand ``stream_generate``: the model itself, or its row-decoding view."""
    return model if decoder is None else RowDecodingModel(model, decoder)
