"""Trained routers shared between homes on one machine (classifier.load_or_train's ``shared``,
persistence.router_cache): a new home on the same examples copies the model instead of training,
and a home whose router learned from its user's corrections never writes there."""

from __future__ import annotations

from pathlib import Path

import pytest

from evotr.container import routing
from evotr.domain.intents import Intent
from evotr.infrastructure.router.classifier import NgramIntentClassifier, load_or_train, shared_key
from evotr.infrastructure.router.model import TrainingConfig
from evotr.infrastructure.router.persistence import METADATA_FILE, examples_sha256, router_cache
from tests.unit.test_router_model import SMALL, Examples

pytestmark = pytest.mark.unit


def _home(root: Path, name: str) -> Path:
    home = root / name
    home.mkdir()
    return home


def _no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: NgramIntentClassifier, examples: Examples) -> None:
        raise AssertionError("trained although the shared cache holds this model")

    monkeypatch.setattr(NgramIntentClassifier, "fit", refuse)


def test_a_second_home_copies_the_model_from_the_shared_cache(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "cache"
    first = load_or_train(SMALL, _home(tmp_path, "a") / "router", shared=shared)
    key = shared_key(examples_sha256(SMALL), TrainingConfig(), None, None)
    assert (shared / key / METADATA_FILE).exists()

    _no_training(monkeypatch)
    second_dir = _home(tmp_path, "b") / "router"
    second = load_or_train(SMALL, second_dir, shared=shared)
    assert (second_dir / METADATA_FILE).exists()  # the home has its own copy from now on
    for probe in ("Merhaba nasılsın", "Python liste oluştur", "5+3 kaç eder"):
        assert second.probabilities(probe) == first.probabilities(probe)


def test_other_examples_or_config_miss_the_cache_and_train(tmp_path: Path) -> None:
    shared = tmp_path / "cache"
    load_or_train(SMALL, _home(tmp_path, "a") / "router", shared=shared)
    changed = {**SMALL, Intent.CODE_MATH: (*SMALL[Intent.CODE_MATH], "integral nasıl alınır")}
    trained = load_or_train(changed, _home(tmp_path, "b") / "router", shared=shared)
    assert trained.state is not None and trained.state.examples_sha256 == examples_sha256(changed)
    other = TrainingConfig(l2=1e-4)
    assert shared_key(examples_sha256(SMALL), other, None, None) != \
        shared_key(examples_sha256(SMALL), TrainingConfig(), None, None)
    assert len([p for p in shared.iterdir() if p.is_dir()]) == 2


def test_a_damaged_cached_model_is_trained_again_and_replaced(tmp_path: Path) -> None:
    shared = tmp_path / "cache"
    load_or_train(SMALL, _home(tmp_path, "a") / "router", shared=shared)
    cached = shared / shared_key(examples_sha256(SMALL), TrainingConfig(), None, None)
    (cached / METADATA_FILE).write_text("{not json", "utf-8")
    again = load_or_train(SMALL, _home(tmp_path, "b") / "router", shared=shared)
    assert again.state is not None
    assert NgramIntentClassifier.load(cached).probabilities("Merhaba") == again.probabilities("Merhaba")


def test_the_cache_location_follows_the_environment(tmp_path: Path) -> None:
    assert router_cache({"EVOTR_CACHE_DIR": str(tmp_path)}) == tmp_path / "router"
    assert router_cache({"EVOTR_CACHE_DIR": "off"}) is None
    assert router_cache({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "evotr" / "router"
    assert router_cache({}) == Path.home() / ".cache" / "evotr" / "router"


def test_a_home_with_learned_corrections_keeps_its_router_out_of_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evotr.infrastructure.router.learned import FILE_NAME

    shared = tmp_path / "cache"
    monkeypatch.setenv("EVOTR_CACHE_DIR", str(shared))
    plain = _home(tmp_path, "plain")
    routing.ngram_router(SMALL, plain)
    assert len(list((shared / "router").iterdir())) == 1

    learned = _home(tmp_path, "learned")
    (learned / "router").mkdir()
    (learned / "router" / FILE_NAME).write_text(
        '{"text": "Kahvem soğudu", "intent": "general_chat"}\n', "utf-8")
    routing.ngram_router(SMALL, learned)
    assert (learned / "router" / METADATA_FILE).exists()
    assert len(list((shared / "router").iterdir())) == 1  # nothing of this user's went there


def test_a_cache_that_cannot_be_written_costs_nothing_but_the_copy(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be", "utf-8")
    home_dir = _home(tmp_path, "a") / "router"
    classifier = load_or_train(SMALL, home_dir, shared=blocked)
    assert classifier.state is not None and (home_dir / METADATA_FILE).exists()
    assert blocked.read_text("utf-8").startswith("a file")
