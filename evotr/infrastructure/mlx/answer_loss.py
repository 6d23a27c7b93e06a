"""LoRA training that computes the output layer only where the loss looks (exact, and much faster).

mlx-lm's ``default_loss`` runs the whole model, output layer included, on every position of the
padded batch and then masks the cross-entropy. For Gemma 3 270M the output layer is a 262,144 ×
640 product: on the 2-core CPU a demo step (2 rows × 33 positions, ~13 answer tokens a row)
took 2.3–2.6 s of which ~1.7–2.0 s were the output layer and its softmax, while the loss looks at ~40 %
of the positions (the answer, with ``mask_prompt``). Here the batch iterator adds the flat indices
of the positions the mask keeps (padded to a multiple of ``BUCKET`` with weight-0 entries, so
``mx.compile`` in mlx-lm's train step sees few shapes; compiling one costs about a step), and the
loss gathers those hidden states before the output layer; the batch also loses the padding
columns no kept position reads (``trimmed_width``). The loss and the gradients are the default
ones up to summation order.

Only where ``split_head`` finds the model to be "body, then head" on a probe (mlx-lm's usual
``lm_head`` / tied embedding); otherwise mlx-lm's default loss runs unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

BUCKET = 8  # answer positions are padded to a multiple of this (few compiled shapes)
TRIM = 8


def answer_positions(batch: Any, lengths: Any) -> tuple[Any, Any]:
    """Flat indices (into the B×(T−1) targets) the default loss's mask keeps, and their weights.

    Padded with index 0 / weight 0 up to a multiple of ``BUCKET``.
    """
    import mlx.core as mx
    import numpy as np

    rows, width = batch.shape[0], batch.shape[1] - 1
    bounds = np.array(lengths, dtype=np.int64).reshape(rows, 2)
    steps = np.arange(1, width + 1)[None, :]  # the default loss's `steps`
    mask = (steps >= bounds[:, :1]) & (steps <= bounds[:, 1:])
    index = np.flatnonzero(mask).astype(np.int32)
    padded = max(BUCKET, -(-len(index) // BUCKET) * BUCKET)
    weight = np.zeros(padded, np.float32)
    weight[: len(index)] = 1.0
    index = np.concatenate([index, np.zeros(padded - len(index), np.int32)])
    return mx.array(index), mx.array(weight)


def trimmed_width(width: int, lengths: Any) -> int:
    """Columns a batch needs: mlx-lm pads to 1 + a multiple of 32; 1 + a multiple of ``TRIM`` will do.

    The default mask keeps step ``length`` (the target just past a row's last token), so the batch
    must keep column ``max(length)``; padding after it changes no kept position (causal attention).
    A feedback SFT row of ~77 tokens then costs 81 columns instead of 97.
    """
    import numpy as np

    longest = int(np.array(lengths, dtype=np.int64).reshape(-1, 2)[:, 1].max())
    return min(width, 1 + TRIM * -(-longest // TRIM))


def with_answer_positions(iterate: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """Wrap an mlx-lm ``iterate_batches`` so each batch also carries ``answer_positions``."""

    def iterate_batches(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for batch, lengths in iterate(*args, **kwargs):
            batch = batch[:, : trimmed_width(batch.shape[1], lengths)]
            yield (batch, lengths, *answer_positions(batch, lengths))

    return iterate_batches


Fn = Callable[[Any], Any]


def make_answer_loss(body: Fn, head: Fn) -> Callable[..., tuple[Any, Any]]:
    """The loss for batches from ``with_answer_positions``: mean cross-entropy over the kept positions."""
    import mlx.core as mx
    import mlx.nn as nn

    def answer_loss(model: Any, batch: Any, lengths: Any, index: Any, weight: Any) -> tuple[Any, Any]:
        inputs, targets = batch[:, :-1], batch[:, 1:]
        hidden = body(inputs)
        kept = hidden.reshape(-1, hidden.shape[-1])[index]
        ce = nn.losses.cross_entropy(head(kept), targets.reshape(-1)[index]) * weight
        ntoks = weight.sum()
        return ce.astype(mx.float32).sum() / ntoks, ntoks.astype(mx.int32)

    return answer_loss


def training_loss(model: Any, probe: Sequence[int], iterate: Callable[..., Iterator[Any]],
                  default: Callable[..., Any]) -> tuple[Callable[..., Any], Callable[..., Iterator[Any]]]:
    """(loss, iterate_batches) for mlx-lm's ``train``/``evaluate``: the answer-only pair when the
    model splits into body and head on ``probe`` (a few token ids), else ``(default, iterate)``."""
    import mlx.core as mx

    from evotr.infrastructure.mlx.preference_loss import split_head

    split = split_head(model, mx.array(list(probe)[:16])[None]) if len(probe) >= 2 else None
    if split is None:
        return default, iterate
    return make_answer_loss(*split), with_answer_positions(iterate)
