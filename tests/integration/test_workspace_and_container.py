"""The DI container builds every provider; the home folder is laid out without overwriting."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dependency_injector import providers

from evotr.container import Container, build_container
from evotr.infrastructure.memory.feedback_repository import InMemoryFeedbackRepository
from evotr.ports.adapter_store import AdapterStore
from evotr.ports.embedder import Embedder
from evotr.ports.feedback_repository import FeedbackRepository
from evotr.ports.generator_api import GeneratorAPI
from evotr.ports.intent_classifier import IntentClassifier
from evotr.ports.learned_routes import LearnedRoutes
from evotr.ports.llm_backend import LLMBackend
from evotr.ports.rows_writer import RowsWriter
from evotr.ports.trainer import Trainer
from evotr.ports.vector_store import VectorStore
from evotr.ports.workspace import Workspace

pytestmark = pytest.mark.integration


def _all_providers(container: object) -> list[tuple[str, object]]:
    found = []
    for name, provider in container.providers.items():  # type: ignore[attr-defined]
        if isinstance(provider, providers.Container):
            found += [(f"{name}.{n}", p) for n, p in _all_providers(provider)]
        elif not isinstance(provider, (providers.Configuration, providers.Dependency,
                                       providers.DependenciesContainer)):
            found.append((name, provider))
    return found


def test_check_dependencies_and_every_provider_builds(tmp_path: Path) -> None:
    container = build_container(home=tmp_path / "home", env={})
    container.check_dependencies()
    built = {name: provider() for name, provider in _all_providers(container)}
    ports = {"storage.feedback_repository": FeedbackRepository, "storage.adapter_store": AdapterStore,
             "storage.workspace": Workspace, "models.llm": LLMBackend, "models.classifier": IntentClassifier,
             "models.embedder": Embedder, "models.vector_store": VectorStore,
             "models.generator": GeneratorAPI, "models.trainer": Trainer,
             "storage.learned_routes": LearnedRoutes, "storage.rows_writer": RowsWriter}
    for name, port in ports.items():
        assert isinstance(built[name], port), name
    assert len([n for n in built if n.startswith("use_cases.")]) >= 10
    # Building providers must not create the home folder: only `init` does.
    assert not (tmp_path / "home").exists()


def test_backends_are_selected_from_config(tmp_path: Path) -> None:
    container = build_container(home=tmp_path / "home", env={})
    assert type(container.storage.feedback_repository()).__name__ == "SqliteFeedbackRepository"
    container = build_container(home=tmp_path / "home", env={})
    container.config.backends.feedback.override("memory")
    assert isinstance(container.storage.feedback_repository(), InMemoryFeedbackRepository)


def test_override_replaces_a_backend_everywhere(tmp_path: Path) -> None:
    container: Container = build_container(home=tmp_path / "home", env={})
    fake = InMemoryFeedbackRepository()
    with container.storage.feedback_repository.override(providers.Object(fake)):
        container.use_cases.init_home().execute()
        assert container.use_cases.feedback_stats().execute().stats.total == 0
    assert not (tmp_path / "home" / "evotr.db").exists()


def test_home_precedence_argument_over_env(tmp_path: Path) -> None:
    container = build_container(home=tmp_path / "a", env={"EVOTR_HOME": str(tmp_path / "b")})
    assert container.settings().home == tmp_path / "a"
    container = build_container(env={"EVOTR_HOME": str(tmp_path / "b")})
    assert container.settings().home == tmp_path / "b"


def test_init_lays_out_home_and_never_overwrites(tmp_path: Path) -> None:
    home = tmp_path / "home"
    container = build_container(home=home, env={})
    first = container.use_cases.init_home().execute()
    for sub in ("adapters", "chroma", "data/generated", "data/training", "models", "evotr.yaml",
                "intents.yaml", "evotr.db", "adapters/registry.json"):
        assert (home / sub).exists(), sub
    assert home / "evotr.yaml" in first.created
    copied = yaml.safe_load((home / "evotr.yaml").read_text("utf-8"))
    # `home: .` is the copy's own folder, so `--config <home>/evotr.yaml` alone finds the home.
    assert copied["home"] == "." and copied["intents_file"] == "intents.yaml"
    assert build_container(home / "evotr.yaml", env={}).settings().home.resolve() == home.resolve()
    (home / "intents.yaml").write_text((home / "intents.yaml").read_text() + "# mine\n")
    second = build_container(home=home, env={}).use_cases.init_home().execute()
    assert second.created == ()
    assert (home / "intents.yaml").read_text().endswith("# mine\n")


def test_home_copy_of_config_is_used_for_that_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    build_container(home=home, env={}).use_cases.init_home().execute()
    text = (home / "evotr.yaml").read_text().replace("threshold: 0.7", "threshold: 0.8")
    (home / "evotr.yaml").write_text(text)
    settings = build_container(env={"EVOTR_HOME": str(home)}).settings()
    assert settings.routing.threshold == 0.8
    assert settings.config_file == home / "evotr.yaml"


def test_init_copies_sibling_configs_that_exist(tmp_path: Path, shipped_configs: Path) -> None:
    (shipped_configs / "generation.yaml").write_text("categories: {}\n", "utf-8")
    home = tmp_path / "home"
    build_container(shipped_configs / "evotr.yaml", home, env={}).use_cases.init_home().execute()
    assert (home / "generation.yaml").read_text("utf-8") == "categories: {}\n"
