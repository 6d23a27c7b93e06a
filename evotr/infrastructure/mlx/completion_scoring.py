"""Log-probs of several completions of ONE prompt: the prompt runs once, the completions as one batch.

The learning loop's gate scores every corrected turn against its original answer and against
other questions' corrections: six completions of ~15 tokens after a prompt of 70–300 tokens (the
persona, remembered facts, the question). Scoring each full sequence separately ran the prompt six
times (Gemma 3 270M on the 2-core CPU: ~5 s a turn, most of a 6-minute `feedback train`). Here the
prompt fills a KV cache once, the cache is repeated along the batch axis, and the completions —
right-padded, so the causal mask keeps padding after every real token — run together; only their
positions go through the output layer when the model splits into body and head.

Exact up to float summation order (a test compares with scoring each full sequence).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Split = tuple[Callable[..., Any], Callable[[Any], Any]]


def shared_prompt_scores(model: Any, split: Split | None, sequences: Sequence[Sequence[int]],
                         offset: int) -> list[float] | None:
    """Σ log p(sequence[t] | sequence[:t]) over t ≥ ``offset`` for each sequence, or None.

    None when the sequences do not share their first ``offset`` tokens, the prompt is a single
    token, or a sliding-window cache would wrap (the caller then scores each sequence in full).
    """
    import mlx.core as mx
    import numpy as np
    from mlx_lm.models.cache import make_prompt_cache

    prefix = list(sequences[0][: offset - 1])
    if offset < 2 or any(list(s[: offset - 1]) != prefix for s in sequences):
        return None
    rests = [list(s[offset - 1: -1]) for s in sequences]  # the inputs whose outputs score s[offset:]
    if min(len(r) for r in rests) < 1:
        return None
    longest = max(len(r) for r in rests)
    cache = make_prompt_cache(model)
    window = min((getattr(c, "max_size", None) or 1 << 30) for c in cache)
    if len(prefix) + longest > window:
        return None
    body = split[0] if split is not None else model
    mx.eval(body(mx.array(prefix)[None], cache=cache))
    for layer in cache:  # one prompt, as many rows as completions
        layer.keys = mx.repeat(layer.keys, len(sequences), axis=0)
        layer.values = mx.repeat(layer.values, len(sequences), axis=0)
    inputs = np.zeros((len(sequences), longest), np.int32)
    for row, rest in enumerate(rests):
        inputs[row, : len(rest)] = rest
    rows = np.concatenate([np.full(len(r), i) for i, r in enumerate(rests)])
    cols = np.concatenate([np.arange(len(r)) for r in rests])
    targets = mx.array(np.concatenate([np.asarray(s[offset:]) for s in sequences]).astype(np.int32))
    out = body(mx.array(inputs), cache=cache)[mx.array(rows), mx.array(cols)]
    logits = (split[1](out) if split is not None else out).astype(mx.float32)
    picked = mx.take_along_axis(logits, targets[:, None], axis=-1)[:, 0] - mx.logsumexp(logits, axis=-1)
    owner = mx.array((np.arange(len(sequences))[:, None] == rows[None, :]).astype(np.float32))
    totals: Any = (owner @ picked).tolist()
    return [float(v) for v in totals]
