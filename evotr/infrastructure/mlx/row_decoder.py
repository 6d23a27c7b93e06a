"""One decode step of a Gemma 3 text model in NumPy and ``cblas_sgemv``, on the calling thread.

Why: on MLX's CPU every evaluated op is a task handed to MLX's stream thread, and on a small
(virtual) machine each hand-over costs tens of microseconds. A Gemma 3 270M token needs ~1,000
small ops between its 127 matrix-vector products, so with the products already done as
``sgemv`` (``decode_gemv``) about 40 % of a token (27 of 87 ms, measured) went to those hand-overs.
Here the whole one-token forward — norms, RoPE, attention over the cached keys, GELU, residuals
and, for the current adapter, the LoRA terms — is computed in NumPy on zero-copy views of MLX's
own weights; only the products go to the BLAS. Prompts (many rows) stay in MLX.

Exactness: fp32 throughout, the same formulas as ``mlx_lm.models.gemma3_text`` and mlx-lm's
``LoRALinear``; results differ from MLX only in the order of float sums (a test bounds the logit
difference and checks that greedy tokens agree).

A :class:`RowCache` mirrors one generation's MLX KV cache: it is copied from MLX once (after the
prompt) and then grows here; :meth:`RowCache.write_back` puts it into the MLX cache objects again
if MLX must continue the same cache.
"""

from __future__ import annotations

import math
from typing import Any

import mlx.core as mx
import numpy as np

from evotr.infrastructure.mlx.decode_gemv import sgemv_rows

_GELU_C = math.sqrt(2.0 / math.pi)


def _view(array: Any) -> np.ndarray[Any, Any]:
    """A NumPy view of an MLX array (no copy for fp32; other dtypes, e.g. LoRA arrays, cast)."""
    if array.dtype != mx.float32:
        array = array.astype(mx.float32)
    return np.asarray(array)


def _rms(x: np.ndarray[Any, Any], weight: Any, eps: float) -> np.ndarray[Any, Any]:
    """Gemma's RMSNorm over the last axis: ``x / rms(x) * (1 + w)`` (the +1 is Gemma's)."""
    scale = 1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(eps))
    out: np.ndarray[Any, Any] = (x * scale.astype(np.float32)) * (np.float32(1.0) + _view(weight))
    return out


class RowCache:
    """Keys and values of every layer for one generation, positions in temporal order."""

    def __init__(self, layers: int, kv_heads: int, head_dim: int, windows: list[int | None]) -> None:
        self.offset = 0  # absolute position of the next token
        self._windows = windows
        self._keys = [np.zeros((kv_heads, 0, head_dim), np.float32) for _ in range(layers)]
        self._values = [np.zeros((kv_heads, 0, head_dim), np.float32) for _ in range(layers)]
        self._lengths = [0] * layers

    @classmethod
    def from_mlx(cls, caches: list[Any], kv_heads: int, head_dim: int,
                 windows: list[int | None]) -> RowCache:
        """Copy the state of mlx-lm ``KVCache`` / ``RotatingKVCache`` objects (batch 1)."""
        cache = cls(len(caches), kv_heads, head_dim, windows)
        offsets = {int(c.offset) for c in caches}
        if len(offsets) != 1:
            raise ValueError(f"layer caches disagree on the position: {sorted(offsets)}")
        cache.offset = offsets.pop()
        for i, c in enumerate(caches):
            if c.keys is None or c.offset == 0:
                continue
            keys, values = c.keys, c.values
            if hasattr(c, "_temporal_order"):  # RotatingKVCache: its buffer may have wrapped
                keys, values = c._temporal_order(keys), c._temporal_order(values)
            else:
                keys, values = keys[..., : c.offset, :], values[..., : c.offset, :]
            mx.eval(keys, values)
            cache._set(i, np.array(keys[0], np.float32), np.array(values[0], np.float32))
        return cache

    def _set(self, layer: int, keys: np.ndarray[Any, Any], values: np.ndarray[Any, Any]) -> None:
        n = keys.shape[1]
        capacity = max(256, 2 * n)
        self._keys[layer] = np.zeros((keys.shape[0], capacity, keys.shape[2]), np.float32)
        self._values[layer] = np.zeros_like(self._keys[layer])
        self._keys[layer][:, :n] = keys
        self._values[layer][:, :n] = values
        self._lengths[layer] = n

    def append(self, layer: int, key: np.ndarray[Any, Any], value: np.ndarray[Any, Any]) -> None:
        """Add one position's key and value (shape ``(kv_heads, head_dim)``) to ``layer``."""
        n, keys = self._lengths[layer], self._keys[layer]
        window = self._windows[layer]
        if n == keys.shape[1]:  # full: keep what attention can still see, then grow
            start = max(0, n - window) if window else 0
            self._set(layer, keys[:, start:n], self._values[layer][:, start:n])
            n, keys = self._lengths[layer], self._keys[layer]
        keys[:, n] = key
        self._values[layer][:, n] = value
        self._lengths[layer] = n + 1

    def visible(self, layer: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Keys and values the newest position attends to (the last ``window`` for sliding layers)."""
        n = self._lengths[layer]
        window = self._windows[layer]
        start = max(0, n - window) if window else 0
        return self._keys[layer][:, start:n], self._values[layer][:, start:n]

    def write_back(self, caches: list[Any]) -> None:
        """Put this state into mlx-lm cache objects, as if MLX had computed every position."""
        for i, c in enumerate(caches):
            keys, values = self.visible(i) if self._windows[i] else self._all(i)
            c.keys = mx.array(keys[None])
            c.values = mx.array(values[None])
            c.offset = self.offset
            if hasattr(c, "_idx"):  # RotatingKVCache: temporal order, as after a concat update
                c._idx = keys.shape[1]

    def _all(self, layer: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        n = self._lengths[layer]
        return self._keys[layer][:, :n], self._values[layer][:, :n]


class RowDecoder:
    """The one-token forward of a loaded mlx-lm ``gemma3_text`` model with fp32 weights."""

    def __init__(self, model: Any, blas_library: str) -> None:
        args = model.args
        self._model = model
        self._library = blas_library
        self._eps = float(args.rms_norm_eps)
        self._heads = int(args.num_attention_heads)
        self._kv_heads = int(args.num_key_value_heads)
        self._head_dim = int(args.head_dim)
        self._scale = np.float32(float(args.query_pre_attn_scalar) ** -0.5)
        # Gemma multiplies the embedding by sqrt(hidden) rounded to bfloat16 (as mlx-lm does).
        self._embed_scale = np.float32(
            float(mx.array(args.hidden_size ** 0.5, mx.bfloat16).astype(mx.float32)))
        layers = model.model.layers
        self.windows: list[int | None] = [
            int(args.sliding_window) if layer.self_attn.is_sliding else None for layer in layers]
        self._inv_freq = [self._frequencies(layer.self_attn.rope) for layer in layers]

    def _frequencies(self, rope: Any) -> np.ndarray[Any, Any]:
        half = self._head_dim // 2
        exponents = np.arange(half, dtype=np.float64) / half
        return (float(rope.scale) * np.power(float(rope.base), -exponents)).astype(np.float64)

    def new_cache(self) -> RowCache:
        """An empty cache for a generation that starts here."""
        return RowCache(len(self.windows), self._kv_heads, self._head_dim, self.windows)

    def cache_from(self, caches: list[Any]) -> RowCache:
        """A cache that continues the given mlx-lm caches."""
        return RowCache.from_mlx(caches, self._kv_heads, self._head_dim, self.windows)

    def _linear(self, module: Any, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """``module(x)`` for one row: a plain linear layer or mlx-lm's ``LoRALinear`` around one."""
        inner = getattr(module, "linear", None)
        if inner is None:
            y = sgemv_rows(self._library, _view(module.weight), x)
            return y + _view(module.bias) if "bias" in module else y
        y = self._linear(inner, x)
        scale = float(module.scale)
        if scale != 0.0:  # the base model's zero plan adds exactly nothing: skip its products
            y = y + np.float32(scale) * ((x @ _view(module.lora_a)) @ _view(module.lora_b))
        return y

    def _rope(self, x: np.ndarray[Any, Any], position: int, layer: int) -> np.ndarray[Any, Any]:
        """Non-traditional RoPE (halves rotated), as ``mx.fast.rope`` with ``traditional=False``."""
        angles = position * self._inv_freq[layer]
        cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
        half = self._head_dim // 2
        first, second = x[..., :half], x[..., half:]
        return np.concatenate([first * cos - second * sin, first * sin + second * cos], axis=-1)

    def step(self, token: int, cache: RowCache) -> np.ndarray[Any, Any]:
        """Logits (vocabulary,) for ``token`` at ``cache.offset``; the cache grows by one."""
        inner = self._model.model
        eps = self._eps
        position = cache.offset
        h = _view(inner.embed_tokens.weight)[token] * self._embed_scale
        for i, layer in enumerate(inner.layers):
            attn = layer.self_attn
            x = _rms(h, layer.input_layernorm.weight, eps)
            q = self._linear(attn.q_proj, x).reshape(self._heads, self._head_dim)
            k = self._linear(attn.k_proj, x).reshape(self._kv_heads, self._head_dim)
            v = self._linear(attn.v_proj, x).reshape(self._kv_heads, self._head_dim)
            q = self._rope(_rms(q, attn.q_norm.weight, eps), position, i)
            k = self._rope(_rms(k, attn.k_norm.weight, eps), position, i)
            cache.append(i, k, v)
            keys, values = cache.visible(i)
            out = self._attend(q * self._scale, keys, values)
            h = h + _rms(self._linear(attn.o_proj, out), layer.post_attention_layernorm.weight, eps)
            x = _rms(h, layer.pre_feedforward_layernorm.weight, eps)
            gate, up = self._linear(layer.mlp.gate_proj, x), self._linear(layer.mlp.up_proj, x)
            act = np.float32(0.5) * gate * (np.float32(1.0) + np.tanh(
                np.float32(_GELU_C) * (gate + np.float32(0.044715) * gate * gate * gate)))
            down = self._linear(layer.mlp.down_proj, act * up)
            h = h + _rms(down, layer.post_feedforward_layernorm.weight, eps)
        cache.offset = position + 1
        h = _rms(h, inner.norm.weight, eps)
        return sgemv_rows(self._library, _view(inner.embed_tokens.weight), h)

    def _attend(self, q: np.ndarray[Any, Any], keys: np.ndarray[Any, Any],
                values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Softmax attention of the (scaled) queries over the visible keys; grouped heads."""
        group = self._heads // self._kv_heads
        q = q.reshape(self._kv_heads, group, self._head_dim)
        scores = q @ keys.transpose(0, 2, 1)  # (kv_heads, group, positions)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        out: np.ndarray[Any, Any] = (scores @ values).reshape(-1).astype(np.float32, copy=False)
        return out
