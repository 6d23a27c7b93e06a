"""Pure MLX functions of preference training: completion log-probs and the DPO sigmoid loss.

Written here rather than taken from ``mlx-lm-lora`` (PyPI, Goekdeniz-Guelmez/mlx-lm-lora):
its ``train_dpo`` computes the reference inside every step with a ``ref_model`` object (a second
model in memory; ``ref_model=None`` means a reference of 0, which is not DPO), calls
``mx.metal.device_info`` (Apple GPUs only), and its ``dpo_loss`` reports accuracy as
"mean chosen reward > mean rejected reward" over the batch rather than per pair, and clears the
cache inside the loss. Here the reference log-probs are plain arrays computed once before
training on the one resident model, and these few lines carry the formulas:

    chosen_reward   = β (log π(chosen)   − log π_ref(chosen))
    rejected_reward = β (log π(rejected) − log π_ref(rejected))
    loss            = −log σ(chosen_reward − rejected_reward)       (TRL's "sigmoid" DPO loss)

with log π the SUM of the completion's token log-probs (TRL's default). Accuracy is the share of
pairs whose chosen reward is higher than the rejected one (TRL's ``rewards/accuracies``) by more
than ``TIE``: float32 rounding of the summed log-probs, not a preference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mlx.core as mx
import mlx.nn
import numpy as np

nn: Any = mlx.nn  # compiled module, invisible to mypy


def completion_logprobs(logits: Any, targets: Any, mask: Any) -> Any:
    """Per row: Σ_t mask[t] · log softmax(logits[t])[targets[t]], in float32 nats.

    ``logits`` (rows, T, vocab) are the model's outputs on ``tokens[:, :-1]``, ``targets`` the
    tokens ``tokens[:, 1:]`` and ``mask`` (rows, T) is 1 on the completion's target positions.
    """
    logits = logits.astype(mx.float32)
    picked = mx.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    logp = picked - mx.logsumexp(logits, axis=-1)
    return (logp * mask).sum(axis=-1)


@dataclass(frozen=True)
class DpoTerms:
    """The DPO loss of a batch (mean over pairs) and each pair's rewards (arrays of shape (pairs,))."""

    loss: Any
    chosen_rewards: Any
    rejected_rewards: Any


def dpo_sigmoid_loss(policy_chosen: Any, policy_rejected: Any, reference_chosen: Any,
                     reference_rejected: Any, beta: float) -> DpoTerms:
    """TRL's sigmoid DPO loss on summed log-probs; every argument has shape (pairs,)."""
    chosen_rewards = beta * (policy_chosen - reference_chosen)
    rejected_rewards = beta * (policy_rejected - reference_rejected)
    losses = -nn.log_sigmoid(chosen_rewards - rejected_rewards)
    return DpoTerms(losses.mean(), chosen_rewards, rejected_rewards)


# Rewards closer than this are a tie. The reference log-probs are computed once, in batches of
# another shape than the training step's, and OpenBLAS rounds the two differently: at step 1,
# where the policy IS the reference, a pair's margin measured 7.6e-7 (β 0.1, ~60-nat sums).
# Margins that mean anything are ≥ 1e-2.
TIE = 1e-4


@dataclass(frozen=True)
class DpoStats:
    """What one step reports: the loss and batch means of the rewards, margin and accuracy."""

    loss: float
    chosen_reward: float
    rejected_reward: float
    margin: float
    accuracy: float


def dpo_stats(terms: DpoTerms) -> DpoStats:
    """Plain floats of ``terms`` (evaluates them)."""
    chosen, rejected = terms.chosen_rewards, terms.rejected_rewards
    margin = (chosen - rejected).mean()
    accuracy = ((chosen - rejected) > TIE).astype(mx.float32).mean()
    values = [terms.loss, chosen.mean(), rejected.mean(), margin, accuracy]
    mx.eval(values)
    loss, c, r, m, a = (float(v.item()) for v in values)
    return DpoStats(loss, c, r, m, a)


Split = tuple[Callable[[Any], Any], Callable[[Any], Any]]


def split_head(model: Any, probe: Any) -> Split | None:
    """(body, head) of an mlx-lm model whose ``__call__`` is ``head(model.model(inputs))``.

    mlx-lm's models mostly end with ``lm_head`` or the tied ``embed_tokens.as_linear``; scoring
    only the completion's positions through the head then skips most of the vocabulary-wide
    work (Gemma's 262k-token head dominates a short DPO step). The split is used only if it
    reproduces ``model(probe)`` on a probe batch; otherwise None (full logits, always right).
    """
    body = getattr(model, "model", None)
    embed = getattr(body, "embed_tokens", None)
    heads = [h for h in (getattr(model, "lm_head", None), getattr(embed, "as_linear", None))
             if callable(h)]
    if not callable(body) or not heads:
        return None
    want = model(probe).astype(mx.float32)
    hidden = body(probe)
    for head in heads:
        try:
            got = head(hidden).astype(mx.float32)
        except (ValueError, TypeError, RuntimeError):
            continue
        if got.shape == want.shape and mx.allclose(got, want, rtol=1e-4, atol=1e-4).item():
            return body, head
    return None


def completion_scores(model: Any, tokens: Any, mask: Any, split: Split | None = None) -> Any:
    """Summed completion log-probs of each row of ``tokens`` (see ``completion_logprobs``).

    With ``split`` only the masked positions go through the head; the result is the same.
    """
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    if split is None:
        return completion_logprobs(model(inputs), targets, mask)
    body, head = split
    rows, cols = (mx.array(a) for a in np.nonzero(np.array(mask)))
    logits = head(body(inputs)[rows, cols]).astype(mx.float32)  # (completion tokens, vocab)
    picked = mx.take_along_axis(logits, targets[rows, cols][:, None], axis=-1)[:, 0]
    logp = picked - mx.logsumexp(logits, axis=-1)
    owner = (mx.arange(tokens.shape[0])[:, None] == rows[None, :]).astype(mx.float32)
    return owner @ logp


def dpo_batch_loss(model: Any, tokens: Any, mask: Any, reference: Any, beta: float,
                   split: Split | None = None) -> tuple[Any, Any, Any]:
    """The function ``nn.value_and_grad`` differentiates: (loss, chosen rewards, rejected rewards).

    ``tokens`` (2·pairs, T) hold the chosen sequences first, then the rejected ones in the same
    order; ``mask`` (2·pairs, T−1) marks the completion targets; ``reference`` (2·pairs,) holds
    the reference log-probs in the same order. The gradient is taken of the first value only.
    """
    scores = completion_scores(model, tokens, mask, split)
    pairs = scores.shape[0] // 2
    terms = dpo_sigmoid_loss(scores[:pairs], scores[pairs:], reference[:pairs], reference[pairs:], beta)
    return terms.loss, terms.chosen_rewards, terms.rejected_rewards
