"""The NumPy one-token decoder computes what MLX computes: logits, greedy tokens, LoRA, caches.

A small random ``gemma3_text`` model (2 sliding layers with a window of 6, 1 global layer) is
decoded past its window, so the rotating caches wrap, and compared with mlx-lm's own forward.
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from mlx_lm.generate import generate_step
from mlx_lm.models import gemma3_text
from mlx_lm.models.cache import make_prompt_cache
from mlx_lm.tuner.utils import linear_to_lora_layers

from evotr.infrastructure.mlx.row_decoder import RowDecoder
from evotr.infrastructure.mlx.row_decoding import RowDecodingModel, row_decoder_for, why_not_rows

pytestmark = pytest.mark.integration

ATOL = 2e-4  # fp32 sums in another order; logits here are of order 1-10
PROMPT = [2, 17, 90, 33, 5]
STEPS = 14  # 5 + 14 positions: past the window of 6 more than twice



def tiny_gemma(seed: int = 0) -> Any:
    args: Any = gemma3_text.ModelArgs
    model = gemma3_text.Model(args(
        model_type="gemma3_text", hidden_size=64, num_hidden_layers=3, intermediate_size=128,
        num_attention_heads=4, num_key_value_heads=1, head_dim=16, vocab_size=128,
        query_pre_attn_scalar=16, sliding_window=6, sliding_window_pattern=3))
    model.sanitize({})  # ties the output layer to the embedding, as Gemma 3 270M is
    mx.random.seed(seed)
    model.update(nn.utils.tree_map(lambda p: mx.random.normal(p.shape) * 0.3, model.parameters()))
    mx.eval(model.parameters())
    return model


def mlx_logits(model: Any, caches: Any, token: int) -> np.ndarray[Any, Any]:
    return np.array(model(mx.array([[token]]), cache=caches)[0, -1])


def decode_both(model: Any, decoder: RowDecoder) -> list[float]:
    """Greedy steps on MLX and on the decoder from the same prompt; the worst logit gap per step."""
    caches = make_prompt_cache(model)
    mx.eval(model(mx.array([PROMPT[:-1]]), cache=caches))
    rows = decoder.cache_from(caches)
    token, gaps = PROMPT[-1], []
    for _ in range(STEPS):
        want, got = mlx_logits(model, caches, token), decoder.step(token, rows)
        gaps.append(float(np.abs(want - got).max()))
        assert int(got.argmax()) == int(want.argmax())
        token = int(want.argmax())
    return gaps


def test_the_decoder_matches_mlx_past_the_sliding_window(blas_library: str) -> None:
    model = tiny_gemma()
    gaps = decode_both(model, RowDecoder(model, blas_library))
    assert max(gaps) < ATOL


def test_the_decoder_matches_mlx_with_a_lora_adapter_active(blas_library: str) -> None:
    model = tiny_gemma(seed=1)
    model.freeze()
    linear_to_lora_layers(model, 3, {"rank": 4, "scale": 2.0, "dropout": 0.0})
    for _path, module in model.named_modules():
        if hasattr(module, "lora_b"):  # mlx-lm starts B at zero; make the adapter change things
            module.lora_b = mx.random.normal(module.lora_b.shape) * 0.2
    mx.eval(model.parameters())
    plain_decoder = RowDecoder(tiny_gemma(seed=1), blas_library)
    gaps = decode_both(model, RowDecoder(model, blas_library))
    assert max(gaps) < ATOL
    # and the adapter really changed the logits (the test would pass vacuously otherwise)
    rows = plain_decoder.new_cache()
    tuned_rows = RowDecoder(model, blas_library).new_cache()
    base = plain_decoder.step(7, rows)
    tuned = RowDecoder(model, blas_library).step(7, tuned_rows)
    assert float(np.abs(base - tuned).max()) > 1e-2


def test_generate_step_through_the_view_gives_mlxs_greedy_tokens(blas_library: str) -> None:
    model = tiny_gemma(seed=2)
    view = RowDecodingModel(model, RowDecoder(model, blas_library))
    prompt = mx.array(PROMPT)

    def greedy(target: Any) -> list[int]:
        steps = generate_step(prompt, target, max_tokens=STEPS)
        return [int(token) for token, _ in steps]

    assert greedy(view) == greedy(model)


def test_mlx_continues_a_cache_the_decoder_advanced(blas_library: str) -> None:
    model = tiny_gemma(seed=3)
    view = RowDecodingModel(model, RowDecoder(model, blas_library))
    tokens = [*PROMPT, 9, 40, 41, 3, 77, 12, 8]
    # Reference: MLX alone over the whole sequence, then two more tokens at once.
    ref = make_prompt_cache(model)
    mx.eval(model(mx.array([tokens]), cache=ref))
    want = np.array(model(mx.array([[50, 51]]), cache=ref)[0])
    # The view: the prompt in MLX, one token at a time in NumPy, then two tokens in MLX again.
    caches = make_prompt_cache(view)
    mx.eval(view(mx.array([PROMPT]), cache=caches))
    for token in tokens[len(PROMPT):]:
        view(mx.array([[token]]), cache=caches)
    got = np.array(view(mx.array([[50, 51]]), cache=caches)[0])
    assert np.abs(want - got).max() < ATOL


def test_models_it_cannot_compute_stay_in_mlx(blas_library: str) -> None:
    quantized = tiny_gemma()
    nn.quantize(quantized, group_size=32, bits=8)
    assert "fp32" in (why_not_rows(quantized) or "")
    assert row_decoder_for(quantized, blas_library, True) is None

    class NotGemma(nn.Module):
        model_type = "qwen2"

    assert "qwen2" in (why_not_rows(NotGemma()) or "")
    gemma = tiny_gemma()
    assert why_not_rows(gemma) is None
    assert row_decoder_for(gemma, blas_library, True) is not None
    assert row_decoder_for(gemma, blas_library, True, env={"EVOTR_CPU_DECODE": "gemv"}) is None
    assert row_decoder_for(gemma, blas_library, False) is None  # the wheel's reference BLAS
