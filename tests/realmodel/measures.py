"""Small measurements on a loaded mlx-lm model, shared by the real-model tests."""

from __future__ import annotations

import math
from typing import Any


def perplexity(model: Any, tokenizer: Any, text: str) -> float:
    """Per-token perplexity of ``text`` (BOS included as the tokenizer adds it) in one forward pass."""
    import mlx.core as mx
    import mlx.nn as nn

    ids = mx.array([tokenizer.encode(text)])
    logits = model(ids[:, :-1]).astype(mx.float32)
    loss = nn.losses.cross_entropy(logits, ids[:, 1:]).mean()
    return math.exp(loss.item())  # type: ignore[arg-type]


def greedy_continuation(model: Any, tokenizer: Any, prompt: str, max_tokens: int,
                        stop: str | None = None) -> str:
    """The greedy continuation of the raw ``prompt`` (no chat template); ends early at ``stop``."""
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_sampler

    text = ""
    for response in stream_generate(model, tokenizer, prompt, max_tokens=max_tokens,
                                    sampler=make_sampler(temp=0.0)):
        text += response.text
        if stop is not None and stop in text:
            break
    return text


def all_logits(model: Any, ids: list[int]) -> Any:
    """Every position's logits for ``ids``, evaluated."""
    import mlx.core as mx

    out = model(mx.array([ids]))[0]
    mx.eval(out)
    return out
