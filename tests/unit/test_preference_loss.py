"""The DPO loss, rewards and accuracy against a NumPy computation of the formula; batching rules."""

from __future__ import annotations

import math

import mlx.core as mx
import numpy as np
import pytest

from evotr.infrastructure.mlx.preference_data import Encoded, TokenPair, batch_order, pad_batch
from evotr.infrastructure.mlx.preference_loss import (
    DpoTerms,
    completion_logprobs,
    completion_scores,
    dpo_batch_loss,
    dpo_sigmoid_loss,
    dpo_stats,
    split_head,
)

pytestmark = pytest.mark.unit

# Summed completion log-probs of 4 pairs: policy and reference, chosen and rejected.
POLICY_CHOSEN = np.array([-10.0, -22.5, -7.25, -30.0], dtype=np.float32)
POLICY_REJECTED = np.array([-12.0, -20.0, -7.25, -41.0], dtype=np.float32)
REF_CHOSEN = np.array([-11.0, -21.0, -8.0, -30.0], dtype=np.float32)
REF_REJECTED = np.array([-11.5, -21.0, -8.0, -40.0], dtype=np.float32)


def numpy_dpo(beta: float) -> dict[str, float]:
    """-log σ(β[(π_c − ref_c) − (π_r − ref_r)]), TRL's sigmoid loss, and its reported metrics."""
    chosen = beta * (POLICY_CHOSEN.astype(np.float64) - REF_CHOSEN)
    rejected = beta * (POLICY_REJECTED.astype(np.float64) - REF_REJECTED)
    logits = chosen - rejected
    losses = np.log1p(np.exp(-logits))  # -log(1 / (1 + e^-x))
    return {"loss": losses.mean(), "chosen_reward": chosen.mean(), "rejected_reward": rejected.mean(),
            "margin": (chosen - rejected).mean(), "accuracy": (chosen > rejected).mean()}


@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_the_loss_rewards_margin_and_accuracy_match_numpy(beta: float) -> None:
    terms = dpo_sigmoid_loss(*(mx.array(a) for a in (POLICY_CHOSEN, POLICY_REJECTED, REF_CHOSEN,
                                                     REF_REJECTED)), beta)
    stats = dpo_stats(terms)
    want = numpy_dpo(beta)
    assert stats.loss == pytest.approx(want["loss"], rel=1e-5, abs=1e-6)
    assert stats.chosen_reward == pytest.approx(want["chosen_reward"], rel=1e-5, abs=1e-6)
    assert stats.rejected_reward == pytest.approx(want["rejected_reward"], rel=1e-5, abs=1e-6)
    assert stats.margin == pytest.approx(want["margin"], rel=1e-5, abs=1e-6)
    assert stats.accuracy == want["accuracy"] == 0.5  # pair 3 ties (not a win), pair 2 loses
    np.testing.assert_allclose(np.array(terms.chosen_rewards), beta * (POLICY_CHOSEN - REF_CHOSEN), rtol=1e-6)


def test_at_the_reference_the_loss_is_log_2_and_nothing_is_won() -> None:
    same = mx.array(POLICY_CHOSEN)
    stats = dpo_stats(dpo_sigmoid_loss(same, mx.array(POLICY_REJECTED), same, mx.array(POLICY_REJECTED), 0.1))
    assert stats.loss == pytest.approx(math.log(2))
    assert (stats.chosen_reward, stats.rejected_reward, stats.margin, stats.accuracy) == (0, 0, 0, 0)


def test_a_rounding_sized_margin_is_a_tie_and_a_real_one_a_win() -> None:
    # One ulp of a ~60-nat float32 sum apart (what batching differently gives at step 1): no win.
    reference = mx.array([-60.0, -60.0], dtype=mx.float32)
    rejected = mx.array([-61.0, -61.0], dtype=mx.float32)
    nudged = mx.array([-60.0 + 7.6e-6, -60.0 + 0.5], dtype=mx.float32)
    stats = dpo_stats(dpo_sigmoid_loss(nudged, rejected, reference, rejected, 0.1))
    assert stats.accuracy == 0.5  # the second pair's 0.05 margin wins, the first's 7.6e-7 ties


def test_a_huge_margin_gives_a_finite_loss_near_zero_and_its_gradient() -> None:
    def loss(x: mx.array) -> mx.array:
        return dpo_sigmoid_loss(x, mx.array([0.0]), mx.array([0.0]), mx.array([0.0]), 1.0).loss

    value, grad = mx.value_and_grad(loss)(mx.array([500.0]))
    assert float(value.item()) == pytest.approx(0.0, abs=1e-6)
    value, grad = mx.value_and_grad(loss)(mx.array([-500.0]))
    assert float(value.item()) == pytest.approx(500.0)  # no overflow to inf
    # d/dx -log σ(x) = σ(x) - 1 → -1 far on the wrong side: the push is bounded.
    assert float(grad.item()) == pytest.approx(-1.0)


def test_completion_logprobs_sum_log_softmax_over_the_masked_targets() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 7)).astype(np.float32)
    targets = rng.integers(0, 7, size=(2, 5)).astype(np.int32)
    mask = np.array([[0, 0, 1, 1, 1], [0, 1, 1, 0, 0]], dtype=np.float32)
    shifted = logits - logits.max(-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    want = (np.take_along_axis(logp, targets[..., None], -1)[..., 0] * mask).sum(-1)
    got = completion_logprobs(mx.array(logits), mx.array(targets), mx.array(mask))
    np.testing.assert_allclose(np.array(got), want, rtol=1e-5)


def test_pad_batch_puts_chosen_rows_first_and_masks_only_completion_targets() -> None:
    pairs = [TokenPair(Encoded((1, 2, 3, 4), 2), Encoded((1, 2, 5), 2), "a"),
             TokenPair(Encoded((6, 7, 8, 9, 10), 3), Encoded((6, 7, 8, 11, 12, 13), 3), "b")]
    tokens, mask = pad_batch(pairs)
    assert tokens.tolist() == [[1, 2, 3, 4, 0, 0], [6, 7, 8, 9, 10, 0],
                               [1, 2, 5, 0, 0, 0], [6, 7, 8, 11, 12, 13]]
    # Target position t predicts token t+1: the completion of (1, 2 | 3, 4) is targets 1..2.
    assert mask.tolist() == [[0, 1, 1, 0, 0], [0, 0, 1, 1, 0], [0, 1, 0, 0, 0], [0, 0, 1, 1, 1]]


class _Model:
    """Logits from a fixed table: the next-token distribution depends only on the current token."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = mx.array(table)

    def __call__(self, inputs: mx.array) -> mx.array:
        return self.table[inputs]


def test_the_batch_loss_pairs_chosen_and_rejected_rows_and_their_references() -> None:
    rng = np.random.default_rng(1)
    model = _Model(rng.normal(size=(14, 14)).astype(np.float32))
    pairs = [TokenPair(Encoded((1, 2, 3, 4), 2), Encoded((1, 2, 5), 2), "a"),
             TokenPair(Encoded((6, 7, 8, 9, 10), 3), Encoded((6, 7, 8, 11, 12, 13), 3), "b")]
    tokens, mask = (mx.array(a) for a in pad_batch(pairs))
    scores = completion_logprobs(model(tokens[:, :-1]), tokens[:, 1:], mask)
    reference = mx.array([-1.0, -2.0, -3.0, -4.0])
    loss, chosen, rejected = dpo_batch_loss(model, tokens, mask, reference, 0.3)
    want = dpo_sigmoid_loss(scores[:2], scores[2:], reference[:2], reference[2:], 0.3)
    assert float(loss.item()) == pytest.approx(float(want.loss.item()))
    np.testing.assert_allclose(np.array(chosen), 0.3 * (np.array(scores[:2]) - [-1.0, -2.0]), rtol=1e-5)
    np.testing.assert_allclose(np.array(rejected), 0.3 * (np.array(scores[2:]) - [-3.0, -4.0]), rtol=1e-5)


def test_dpo_stats_of_precomputed_terms() -> None:
    terms = DpoTerms(mx.array(0.5), mx.array([0.2, -0.1, 0.3]), mx.array([0.1, 0.0, 0.3]))
    stats = dpo_stats(terms)
    assert stats.accuracy == pytest.approx(1 / 3)
    assert stats.margin == pytest.approx((0.1 - 0.1 + 0.0) / 3)


def test_batch_order_is_deterministic_sees_every_pair_each_epoch_and_never_drops_a_tail() -> None:
    order = batch_order(5, 2, 6, seed=3)
    assert order == batch_order(5, 2, 6, seed=3)
    assert order != batch_order(5, 2, 6, seed=4)
    # 5 pairs in batches of 2: [2, 3] per epoch (the tail of 1 joins the batch before it).
    assert [len(b) for b in order] == [2, 3, 2, 3, 2, 3]
    assert sorted(order[0] + order[1]) == list(range(5))
    assert batch_order(1, 4, 3, seed=0) == [[0], [0], [0]]


class _Body:
    def __init__(self, table: np.ndarray) -> None:
        self.table = mx.array(table)

    def __call__(self, inputs: mx.array) -> mx.array:
        return self.table[inputs]


class _SplitModel:
    """mlx-lm's usual shape: ``lm_head(model(inputs))``; ``cap`` adds what a split would miss."""

    def __init__(self, cap: bool = False) -> None:
        rng = np.random.default_rng(2)
        self.model = _Body(rng.normal(size=(14, 6)).astype(np.float32))
        self.weight = mx.array(rng.normal(size=(6, 14)).astype(np.float32))
        self.cap = cap

    def lm_head(self, hidden: mx.array) -> mx.array:
        return hidden @ self.weight

    def __call__(self, inputs: mx.array) -> mx.array:
        logits = self.lm_head(self.model(inputs))
        return 5 * mx.tanh(logits / 5) if self.cap else logits


def test_scoring_only_the_completion_through_the_head_gives_the_same_log_probs() -> None:
    pairs = [TokenPair(Encoded((1, 2, 3, 4), 2), Encoded((1, 2, 5), 2), "a"),
             TokenPair(Encoded((6, 7, 8, 9, 10), 3), Encoded((6, 7, 8, 11, 12, 13), 3), "b")]
    tokens, mask = (mx.array(a) for a in pad_batch(pairs))
    model = _SplitModel()
    split = split_head(model, tokens[:1])
    assert split is not None
    np.testing.assert_allclose(np.array(completion_scores(model, tokens, mask, split)),
                               np.array(completion_scores(model, tokens, mask)), rtol=1e-5)
    # The gradient flows the same way through both paths.
    def total(weight: mx.array, use: object) -> mx.array:
        model.weight = weight
        return completion_scores(model, tokens, mask, split if use else None).sum()

    grads = [mx.grad(total)(model.weight, use) for use in (True, False)]
    np.testing.assert_allclose(np.array(grads[0]), np.array(grads[1]), rtol=1e-4, atol=1e-5)


def test_a_model_whose_logits_are_not_just_the_head_is_scored_on_full_logits() -> None:
    assert split_head(_SplitModel(cap=True), mx.array([[1, 2, 3]])) is None
    assert split_head(_Model(np.zeros((4, 4), dtype=np.float32)), mx.array([[1, 2]])) is None
