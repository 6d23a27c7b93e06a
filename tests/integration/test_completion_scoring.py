"""Shared-prompt scoring equals scoring each full sequence, and steps aside when it cannot be exact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from evotr.infrastructure.mlx.completion_scoring import shared_prompt_scores
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

pytestmark = pytest.mark.integration

PROMPT = [5, 17, 23, 99, 4, 61, 8, 12, 40, 3]
COMPLETIONS = [[7, 7, 9], [120, 5, 66, 31, 2], [88], [14, 15, 16, 17, 18, 19, 20]]


def _full_scores(model: Any, sequences: list[list[int]], offset: int) -> list[float]:
    """Σ log p over t ≥ offset, each sequence run whole through the model (no cache)."""
    import mlx.core as mx
    import mlx.nn as nn

    totals = []
    for seq in sequences:
        logp = nn.log_softmax(model(mx.array(seq)[None])[0].astype(mx.float32), axis=-1)
        totals.append(sum(float(logp[t - 1, seq[t]].item()) for t in range(offset, len(seq))))
    return totals


@pytest.fixture(scope="module")
def qwen(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import mlx_lm

    return mlx_lm.load(str(ensure_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny")))[0]


def _gemma(window: int) -> Any:
    """A random Gemma 3 text model with a short sliding window (RotatingKVCache layers)."""
    import mlx.core as mx
    from mlx_lm.models import gemma3_text

    mx.random.seed(3)
    args = gemma3_text.ModelArgs(model_type="gemma3_text", hidden_size=64, num_hidden_layers=3,
                                 intermediate_size=128, num_attention_heads=2, head_dim=32,
                                 num_key_value_heads=1, vocab_size=256, sliding_window=window,
                                 sliding_window_pattern=2, query_pre_attn_scalar=32)
    model = gemma3_text.Model(args)
    model.sanitize({})  # tied output layer, as the real Gemma 3 270M
    mx.eval(model.parameters())
    return model


@pytest.mark.parametrize("family", ["qwen2", "gemma3_text"])
def test_shared_prompt_scores_equal_each_sequence_scored_in_full(qwen: Any, family: str) -> None:
    from evotr.infrastructure.mlx.preference_loss import split_head

    model = qwen if family == "qwen2" else _gemma(window=64)
    sequences = [PROMPT + c for c in COMPLETIONS]
    want = _full_scores(model, sequences, len(PROMPT))
    import mlx.core as mx

    for split in (None, split_head(model, mx.array(PROMPT)[None])):
        got = shared_prompt_scores(model, split, sequences, len(PROMPT))
        assert got is not None
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_it_steps_aside_when_the_prompts_differ_or_a_sliding_window_would_wrap(qwen: Any) -> None:
    sequences = [PROMPT + c for c in COMPLETIONS]
    other = [[*PROMPT[:-2], 1, 2, *COMPLETIONS[0]], *sequences[1:]]
    assert shared_prompt_scores(qwen, None, other, len(PROMPT)) is None
    assert shared_prompt_scores(qwen, None, sequences, 1) is None  # no prompt to share
    assert shared_prompt_scores(_gemma(window=12), None, sequences, len(PROMPT)) is None
