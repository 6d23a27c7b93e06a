"""The n-gram router: TF-IDF features + calibrated logistic regression, saved under <home>/router."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from evotr.domain.intents import ALL_INTENTS, Intent
from evotr.infrastructure.router.features import Vectorizer
from evotr.infrastructure.router.model import (
    TrainingConfig,
    cross_validate,
    fit_temperature,
    gram,
    softmax,
    train_linear,
)
from evotr.infrastructure.router.persistence import (
    METADATA_FILE,
    RouterModelError,
    RouterState,
    examples_sha256,
    read_state,
    write_state,
)
from evotr.ports.intent_classifier import IntentClassifier

log = logging.getLogger("evotr.router")


class NgramIntentClassifier(IntentClassifier):
    """Turkish-aware intent classifier; uniform over the eight intents until fitted."""

    def __init__(self, config: TrainingConfig | None = None) -> None:
        self.config = config or TrainingConfig()
        self._state: RouterState | None = None

    @property
    def state(self) -> RouterState | None:
        """The trained model and how it was trained (None before :meth:`fit`)."""
        return self._state

    def fit(self, examples: Mapping[Intent, Sequence[str]]) -> None:
        """Train: out-of-fold logits fit the temperature, then the final model sees every example."""
        started = time.perf_counter()
        texts = [t for i in ALL_INTENTS for t in examples.get(i, ())]
        labels = np.asarray([n for n, i in enumerate(ALL_INTENTS) for _ in examples.get(i, ())],
                            dtype=np.int64)
        if not texts:
            self._state = None
            return
        vectorizer = Vectorizer.fit(texts, self.config.features)
        rows = vectorizer.encode_many(texts)
        kernel = gram(rows)
        cv = cross_validate(kernel, labels, len(ALL_INTENTS), self.config)
        model = train_linear(rows, kernel, labels, len(ALL_INTENTS), self.config.l2, self.config.max_iter)
        self._state = RouterState(
            config=self.config,
            vectorizer=vectorizer,
            model=model,
            temperature=fit_temperature(cv.logits, labels) if cv else 1.0,
            examples_sha256=examples_sha256(examples),
            n_examples=len(texts),
            cv_accuracy=cv.accuracy if cv else None,
            train_seconds=time.perf_counter() - started,
        )

    def probabilities(self, text: str) -> Mapping[Intent, float]:
        """Calibrated distribution over all eight intents (sums to 1)."""
        state = self._state
        if state is None:
            return {i: 1.0 / len(ALL_INTENTS) for i in ALL_INTENTS}
        indices, values = state.vectorizer.encode(text)
        logits = state.model.bias.copy()
        if indices:
            # Only the message's own rows of the weight matrix are touched: no vocab-sized vector.
            logits += np.einsum("k,kc->c", np.asarray(values), state.model.weights[indices])
        return dict(zip(ALL_INTENTS, softmax(logits / state.temperature).tolist(), strict=True))

    def save(self, path: Path) -> None:
        """Write the trained model into the folder ``path`` (atomically, arrays then metadata)."""
        if self._state is None:
            raise RouterModelError("cannot save a router that has not been trained")
        write_state(self._state, path)

    @classmethod
    def load(cls, path: Path) -> NgramIntentClassifier:
        """A classifier from a folder written by :meth:`save`; RouterModelError if unusable."""
        state = read_state(path)
        classifier = cls(state.config)
        classifier._state = state
        return classifier


def load_or_train(examples: Mapping[Intent, Sequence[str]], model_dir: Path,
                  config: TrainingConfig | None = None) -> NgramIntentClassifier:
    """The saved model if it was trained on these examples with this config; else retrain and save.

    A damaged saved model is retrained (WARNING), never fatal. The model is saved only when
    ``model_dir``'s parent (the home folder) exists: only `evotr init` creates a home.
    """
    config = config or TrainingConfig()
    digest = examples_sha256(examples)
    reason = "no saved model"
    if (model_dir / METADATA_FILE).exists():
        try:
            saved = NgramIntentClassifier.load(model_dir)
        except RouterModelError as error:
            log.warning("saved router model is unusable, retraining: %s", error)
            reason = "saved model unusable"
        else:
            state = saved.state
            assert state is not None  # load() always sets it
            if state.examples_sha256 == digest and state.config == config:
                log.info("router model loaded from %s (%d examples, sha256 %s…)",
                         model_dir, state.n_examples, digest[:12])
                return saved
            reason = "examples changed" if state.examples_sha256 != digest else "training config changed"
    classifier = train_and_save(examples, model_dir, config, save=model_dir.parent.is_dir())
    if not model_dir.parent.is_dir():
        log.info("router model not saved: %s does not exist yet (evotr init creates it)", model_dir.parent)
    state = classifier.state
    log.info("router model trained (%s): %d examples in %.2f s", reason,
             state.n_examples if state else 0, state.train_seconds if state else 0.0)
    return classifier


def train_and_save(examples: Mapping[Intent, Sequence[str]], model_dir: Path,
                   config: TrainingConfig | None = None, *, save: bool = True) -> NgramIntentClassifier:
    """Train now and (optionally) save into ``model_dir``; a failed save is logged, not raised."""
    classifier = NgramIntentClassifier(config)
    classifier.fit(examples)
    if save and classifier.state is not None:
        try:
            classifier.save(model_dir)
        except OSError as error:
            log.warning("could not save the router model into %s: %s", model_dir, error)
    return classifier


class RouterTrainer:
    """`evotr router train`: retrain from the configured examples now and save, whatever is saved."""

    def __init__(self, examples: Mapping[Intent, Sequence[str]], model_dir: Path,
                 config: TrainingConfig | None = None) -> None:
        self.examples = examples
        self.model_dir = model_dir
        self.config = config

    def execute(self) -> NgramIntentClassifier:
        """Train and save into ``model_dir``; a failed save is an error here (it was asked for)."""
        classifier = NgramIntentClassifier(self.config)
        classifier.fit(self.examples)
        try:
            classifier.save(self.model_dir)
        except OSError as error:
            raise RouterModelError(f"cannot save the router model into {self.model_dir}: {error}") from None
        return classifier
