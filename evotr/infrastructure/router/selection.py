"""Choosing how much the sentence embedding weighs, by cross-validation on the training examples.

The router's features are the message's n-grams and, optionally, its sentence embedding scaled
by √w. Training works on the Gram matrix, so a weight is cheap to try: K = X·Xᵀ + w·E·Eᵀ, and
one stratified k-fold run per candidate scores it. The candidate with the lowest out-of-fold
negative log-likelihood (after fitting the temperature, as the saved model will) wins: a smooth
score, so close candidates rarely tie, and it rewards confident right answers, which is what the
confidence threshold needs. w = 0 (n-grams alone) is always a candidate, so an embedder that does
not help (the hashing one in tests) is dropped and never called at prediction time.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from evotr.infrastructure.router.features import FloatArray, IntArray
from evotr.infrastructure.router.model import CrossValidation, TrainingConfig, cross_validate, fit_temperature


@attrs.frozen(slots=True)
class Candidate:
    """One embedding weight and how it scored out of fold."""

    weight: float
    cv_accuracy: float
    cv_nll: float
    temperature: float

    def as_dict(self) -> dict[str, float]:
        """JSON-ready values (saved in the model's metadata)."""
        return attrs.asdict(self)


@attrs.frozen(slots=True, eq=False)
class Selection:
    """The chosen weight, its cross-validation, and every candidate's score."""

    weight: float
    cv: CrossValidation
    temperature: float
    candidates: tuple[Candidate, ...]


def _nll(logits: FloatArray, y: IntArray, temperature: float) -> float:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def select_weight(ngram_kernel: FloatArray, embedding_kernel: FloatArray | None, y: IntArray,
                  n_classes: int, config: TrainingConfig) -> Selection | None:
    """Cross-validate each candidate weight; None when there are too few examples to fold."""
    weights: Sequence[float] = [0.0]
    if embedding_kernel is not None:
        weights = [0.0, *sorted({w for w in config.embedding_weights if w > 0.0})]
    best: Selection | None = None
    candidates = []
    for weight in weights:
        kernel = ngram_kernel if embedding_kernel is None or weight == 0.0 \
            else ngram_kernel + weight * embedding_kernel
        cv = cross_validate(kernel, y, n_classes, config)
        if cv is None:
            return None
        temperature = fit_temperature(cv.logits, y)
        candidate = Candidate(weight, cv.accuracy, _nll(cv.logits, y, temperature), temperature)
        candidates.append(candidate)
        # Strictly better only: on a tie the earlier (smaller, cheaper) weight stays.
        if best is None or candidate.cv_nll < min(c.cv_nll for c in candidates[:-1]):
            best = Selection(weight, cv, temperature, ())
    assert best is not None  # weights is never empty
    return attrs.evolve(best, candidates=tuple(candidates))
