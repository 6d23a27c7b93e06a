"""Saving and loading a trained router: arrays in ``router.npz``, metadata in ``router.json``.

Format 2 adds the sentence-embedding weights (``dense``), the embedder's name and the chosen
embedding weight; a format-1 model is reported unusable and retrained from the examples.

Both files are written atomically (temp + rename), the arrays first; the metadata records the
SHA-256 of the arrays file, so a crash between the two writes, or any later damage, is
detected on load instead of serving a half-written model.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from evotr.domain.errors import EvoTrError
from evotr.domain.intents import ALL_INTENTS, Intent
from evotr.domain.text import fold
from evotr.infrastructure.filesystem.atomic import atomic_write_bytes, atomic_write_text
from evotr.infrastructure.router.features import Vectorizer
from evotr.infrastructure.router.model import LinearModel, TrainingConfig
from evotr.infrastructure.router.selection import Candidate

FORMAT_VERSION = 2
ARRAYS_FILE = "router.npz"
METADATA_FILE = "router.json"


class RouterModelError(EvoTrError):
    """A saved router model is missing, damaged or from an incompatible format."""


@attrs.frozen(slots=True, eq=False)
class RouterState:
    """Everything a trained router needs to predict, plus how it was trained."""

    config: TrainingConfig
    vectorizer: Vectorizer
    model: LinearModel
    temperature: float
    examples_sha256: str
    n_examples: int
    cv_accuracy: float | None
    train_seconds: float
    # The embedder the model was trained with (None: none was given) and how much its vector
    # weighs (0.0: cross-validation preferred n-grams alone, so prediction never embeds).
    embedder: str | None = None
    embedding_weight: float = 0.0
    candidates: tuple[Candidate, ...] = ()

    @property
    def uses_embedding(self) -> bool:
        """Whether prediction needs the message's sentence embedding."""
        return self.embedding_weight > 0.0 and self.model.dense.shape[0] > 0


def examples_sha256(examples: Mapping[Intent, Sequence[str]]) -> str:
    """SHA-256 of the examples as the features see them (folded, whitespace collapsed)."""
    normalised = {i.value: [" ".join(fold(t).split()) for t in examples.get(i, ())] for i in ALL_INTENTS}
    payload = json.dumps(normalised, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


def write_state(state: RouterState, directory: Path) -> None:
    """Write ``state`` into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, terms=np.asarray(state.vectorizer.terms, dtype=str), idf=state.vectorizer.idf,
             weights=state.model.weights, bias=state.model.bias, dense=state.model.dense,
             dense_mean=state.model.dense_mean)
    arrays = buffer.getvalue()
    atomic_write_bytes(directory / ARRAYS_FILE, arrays)
    metadata = {
        "format_version": FORMAT_VERSION,
        "intents": [i.value for i in ALL_INTENTS],
        "examples_sha256": state.examples_sha256,
        "arrays_sha256": hashlib.sha256(arrays).hexdigest(),
        "config": state.config.as_dict(),
        "temperature": state.temperature,
        "oov_idf": state.vectorizer.oov_idf,
        "n_examples": state.n_examples,
        "n_features": len(state.vectorizer.terms),
        "cv_accuracy": state.cv_accuracy,
        "train_seconds": state.train_seconds,
        "embedder": state.embedder,
        "embedding_weight": state.embedding_weight,
        "embedding_candidates": [c.as_dict() for c in state.candidates],
    }
    atomic_write_text(directory / METADATA_FILE, json.dumps(metadata, indent=2) + "\n")


def read_metadata(directory: Path) -> dict[str, Any]:
    """The metadata file as a dict; RouterModelError if unreadable or of another format."""
    path = directory / METADATA_FILE
    try:
        metadata = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise RouterModelError(f"{path}: cannot read router metadata ({error})") from None
    if not isinstance(metadata, dict):
        raise RouterModelError(f"{path}: router metadata is not a JSON object")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise RouterModelError(
            f"{path}: format version {metadata.get('format_version')!r}, expected {FORMAT_VERSION}")
    if metadata.get("intents") != [i.value for i in ALL_INTENTS]:
        raise RouterModelError(f"{path}: saved for other intents ({metadata.get('intents')!r})")
    return metadata


def read_state(directory: Path) -> RouterState:
    """Load a saved router; any inconsistency raises RouterModelError naming the file."""
    metadata = read_metadata(directory)
    path = directory / ARRAYS_FILE
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RouterModelError(f"{path}: cannot read router arrays ({error})") from None
    if hashlib.sha256(raw).hexdigest() != metadata.get("arrays_sha256"):
        raise RouterModelError(f"{path}: checksum does not match {METADATA_FILE}")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            terms, idf = [str(t) for t in npz["terms"]], np.asarray(npz["idf"], dtype=np.float64)
            weights = np.asarray(npz["weights"], dtype=np.float64)
            bias = np.asarray(npz["bias"], dtype=np.float64)
            dense = np.asarray(npz["dense"], dtype=np.float64)
            dense_mean = np.asarray(npz["dense_mean"], dtype=np.float64)
        config = TrainingConfig.from_dict(metadata["config"])
        state = RouterState(
            config=config,
            vectorizer=Vectorizer(config.features, terms, idf, float(metadata["oov_idf"])),
            model=LinearModel(weights, bias, dense, dense_mean),
            temperature=float(metadata["temperature"]),
            examples_sha256=str(metadata["examples_sha256"]),
            n_examples=int(metadata["n_examples"]),
            cv_accuracy=None if metadata["cv_accuracy"] is None else float(metadata["cv_accuracy"]),
            train_seconds=float(metadata["train_seconds"]),
            embedder=None if metadata["embedder"] is None else str(metadata["embedder"]),
            embedding_weight=float(metadata["embedding_weight"]),
            candidates=tuple(Candidate(**c) for c in metadata["embedding_candidates"]),
        )
    except (KeyError, TypeError, ValueError, OSError) as error:
        raise RouterModelError(f"{path}: malformed router model ({error!r})") from None
    _check_shapes(state, path)
    return state


def _check_shapes(state: RouterState, path: Path) -> None:
    n_terms, n_classes = len(state.vectorizer.terms), len(ALL_INTENTS)
    if state.model.weights.shape != (n_terms, n_classes) or state.model.bias.shape != (n_classes,) \
            or state.vectorizer.idf.shape != (n_terms,) \
            or (state.model.dense.shape[0] and state.model.dense.shape[1] != n_classes) \
            or state.model.dense_mean.shape != (state.model.dense.shape[0],):
        raise RouterModelError(f"{path}: array shapes do not match the vocabulary")
    arrays = (state.model.weights, state.model.bias, state.model.dense, state.model.dense_mean,
              state.vectorizer.idf)
    finite = all(np.isfinite(a).all() for a in arrays)
    if not finite or not math.isfinite(state.temperature) or state.temperature <= 0.0:
        raise RouterModelError(f"{path}: non-finite weights or temperature")


def router_cache(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where trained routers are shared between homes on this machine (a new home, the demo's,
    a test's: ~8 s of training each at 1,672 examples): ``$EVOTR_CACHE_DIR/router``, else
    ``$XDG_CACHE_HOME/evotr/router``, else ``~/.cache/evotr/router``; None when
    ``EVOTR_CACHE_DIR`` is "off"."""
    env = os.environ if environ is None else environ
    chosen = env.get("EVOTR_CACHE_DIR", "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser() / "router"
    base = env.get("XDG_CACHE_HOME", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "evotr" / "router"

