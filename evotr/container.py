"""The dependency-injector container: the one place that picks implementations, from config.

Containers are split by concern (storage, models, use cases); each backend is a ``Selector``
over ``config.backends.<port>``, and every provider can be overridden in tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

from evotr.application.adapters import (
    ListAdapters,
    PromoteAdapter,
    ResolveAdapter,
    RollbackAdapter,
    ValidateAdapters,
)
from evotr.application.assistant import Assistant
from evotr.application.chat import ChatTurn
from evotr.application.datagen import DataStats, GenerateData, PrepareData
from evotr.application.feedback import GetFeedbackStats, RecordFeedback
from evotr.application.generate import GenerateOnce
from evotr.application.home import InitHome
from evotr.application.router_eval import EvaluateRouter, TuneThreshold
from evotr.application.routing import RouteMessage
from evotr.application.settings import Settings
from evotr.application.startup import WarmUp
from evotr.application.training import TrainAdapter
from evotr.application.turns import SaveTurn


# Heavy or optional backends are imported when first built, never when the CLI starts.
def _sqlite_feedback(path: Path) -> Any:
    from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository

    return SqliteFeedbackRepository(path)


def _memory_feedback() -> Any:
    from evotr.infrastructure.memory.feedback_repository import InMemoryFeedbackRepository

    return InMemoryFeedbackRepository()


def _filesystem_adapters(root: Path) -> Any:
    from evotr.infrastructure.filesystem.adapter_store import FilesystemAdapterStore

    return FilesystemAdapterStore(root)


def _memory_adapters(root: Path) -> Any:
    from evotr.infrastructure.memory.adapter_store import InMemoryAdapterStore

    return InMemoryAdapterStore(root)


def _workspace(root: Path, config_file: Path | None, intents_file: Path | None) -> Any:
    from evotr.infrastructure.filesystem.workspace import FilesystemWorkspace

    return FilesystemWorkspace(root, config_file, intents_file)


def _chroma_store(path: Path) -> Any:
    from evotr.infrastructure.chroma.vector_store import ChromaVectorStore

    return ChromaVectorStore(path)


def _mlx_llm(model_path: str) -> Any:
    from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend

    return MlxLLMBackend(model_path)


def _memory_llm(model_id: str) -> Any:
    from evotr.infrastructure.memory.llm_backend import InMemoryLLMBackend

    return InMemoryLLMBackend(model_id)


def _memory_classifier(settings: Settings) -> Any:
    from evotr.infrastructure.memory.intent_classifier import InMemoryIntentClassifier

    classifier = InMemoryIntentClassifier()
    classifier.fit(settings.intents.examples)
    return classifier


def _ngram_router(examples: Mapping[Any, Any], home: Path, retrain: bool = False) -> Any:
    """The saved/trained router for chat, or (``retrain``) a trainer for `evotr router train`."""
    from evotr.infrastructure.router.classifier import RouterTrainer, load_or_train

    return RouterTrainer(examples, home / "router") if retrain else load_or_train(examples, home / "router")


def _mlx_trainer() -> Any:
    from evotr.infrastructure.mlx.trainer import MlxLoraTrainer

    return MlxLoraTrainer()


def _generation_config(config_file: Path | None) -> Any:
    from evotr.infrastructure.config.generation import generation_config_file, load_generation_config
    from evotr.infrastructure.config.loader import default_config_dir

    return load_generation_config(generation_config_file(config_file, default_config_dir()))


def _gemma_generator(config: Any) -> Any:
    from evotr.infrastructure.gemma.generator import BASE_URL_VARIABLE, gemma_generator_from_env

    # Keys and the endpoint override are read when the generator is built, never at import.
    env = os.environ
    limits = config.generator
    return gemma_generator_from_env(
        env, base_url=env.get(BASE_URL_VARIABLE) or limits.base_url, rpm=limits.rpm, tpm=limits.tpm,
        rpd=limits.rpd, model=limits.model,
    )


def _local_generator(llm: Any) -> Any:
    from evotr.infrastructure.mlx.local_generator import LocalMlxGenerator

    return LocalMlxGenerator(llm)


def _jsonl_samples(root: Path) -> Any:
    from evotr.infrastructure.datasets.jsonl_store import JsonlSampleStore

    return JsonlSampleStore(root)


def _memory(name: str) -> Any:
    from evotr.infrastructure.memory import embedder, generator, trainer, vector_store

    factories = {
        "embedder": embedder.HashingEmbedder,
        "vector_store": vector_store.InMemoryVectorStore,
        "generator": generator.InMemoryGenerator,
        "trainer": trainer.InMemoryTrainer,
    }
    return factories[name]()


class Storage(containers.DeclarativeContainer):
    """Where data lives: the feedback DB, the adapter store, the home folder."""

    config = providers.Configuration()
    settings = providers.Dependency(instance_of=Settings)

    feedback_repository = providers.Selector(
        config.backends.feedback,
        sqlite=providers.Singleton(_sqlite_feedback, settings.provided.db_path),
        memory=providers.Singleton(_memory_feedback),
    )
    adapter_store = providers.Selector(
        config.backends.adapters,
        filesystem=providers.Singleton(_filesystem_adapters, settings.provided.adapters_dir),
        memory=providers.Singleton(_memory_adapters, settings.provided.adapters_dir),
    )
    workspace = providers.Singleton(
        _workspace,
        settings.provided.home,
        settings.provided.config_file,
        settings.provided.intents_file,
    )
    sample_store = providers.Singleton(_jsonl_samples, settings.provided.data_dir)


class Models(containers.DeclarativeContainer):
    """Everything that computes: the LLM, router, embedder, vector store, generator, trainer."""

    config = providers.Configuration()
    settings = providers.Dependency(instance_of=Settings)

    llm = providers.Selector(
        config.backends.llm,
        mlx=providers.Singleton(_mlx_llm, settings.provided.model.path),
        memory=providers.Singleton(_memory_llm, settings.provided.model.path),
    )
    classifier = providers.Selector(
        config.backends.classifier,
        ngram=providers.Singleton(_ngram_router, settings.provided.intents.examples, settings.provided.home),
        memory=providers.Singleton(_memory_classifier, settings),
    )
    # `evotr router train`: always the n-gram router, whichever classifier serves chat.
    router_trainer = providers.Factory(
        _ngram_router, settings.provided.intents.examples, settings.provided.home, retrain=True
    )
    embedder = providers.Selector(
        config.backends.embedder, memory=providers.Singleton(_memory, "embedder")
    )
    vector_store = providers.Selector(
        config.backends.vector_store,
        chroma=providers.Singleton(_chroma_store, settings.provided.chroma_dir),
        memory=providers.Singleton(_memory, "vector_store"),
    )
    # generation.yaml beside the evotr.yaml in use; `data generate` overrides it with its flags.
    generation_config = providers.Singleton(_generation_config, settings.provided.config_file)
    generator = providers.Selector(
        config.backends.generator,
        gemma=providers.Singleton(_gemma_generator, generation_config),
        mlx=providers.Singleton(_local_generator, llm),
        memory=providers.Singleton(_memory, "generator"),
    )
    trainer = providers.Selector(
        config.backends.trainer,
        mlx=providers.Singleton(_mlx_trainer),
        memory=providers.Singleton(_memory, "trainer"),
    )


class UseCases(containers.DeclarativeContainer):
    """Application use cases wired to whichever backends were selected."""

    settings = providers.Dependency(instance_of=Settings)
    storage = providers.DependenciesContainer()
    models = providers.DependenciesContainer()

    init_home = providers.Factory(
        InitHome, storage.workspace, storage.feedback_repository, storage.adapter_store
    )
    feedback_stats = providers.Factory(
        GetFeedbackStats, storage.feedback_repository, settings.provided.gate
    )
    record_feedback = providers.Factory(RecordFeedback, storage.feedback_repository)
    list_adapters = providers.Factory(
        ListAdapters, settings.provided.intents, storage.adapter_store
    )
    validate_adapters = providers.Factory(
        ValidateAdapters, settings.provided.intents, storage.adapter_store
    )
    resolve_adapter = providers.Factory(
        ResolveAdapter, settings.provided.intents, storage.adapter_store
    )
    promote_adapter = providers.Factory(
        PromoteAdapter, settings.provided.intents, storage.adapter_store
    )
    rollback_adapter = providers.Factory(
        RollbackAdapter, settings.provided.intents, storage.adapter_store
    )
    route_message = providers.Factory(
        RouteMessage, models.classifier, settings.provided.routing
    )
    evaluate_router = providers.Factory(EvaluateRouter, models.classifier, settings.provided.routing)
    tune_threshold = providers.Factory(
        TuneThreshold, models.classifier, settings.provided.routing.fallback_intent
    )
    save_turn = providers.Factory(SaveTurn, storage.feedback_repository)
    chat_turn = providers.Factory(
        ChatTurn,
        route_message,
        settings.provided.intents,
        storage.adapter_store,
        models.llm,
        storage.feedback_repository,
        settings.provided.context_budget,
        settings.provided.persona,
        settings.provided.sampling,
    )
    warm_up = providers.Factory(
        WarmUp, settings.provided.intents, storage.adapter_store, models.llm
    )
    assistant = providers.Factory(Assistant, chat_turn, record_feedback, feedback_stats)
    train_adapter = providers.Factory(
        TrainAdapter, settings.provided.intents, storage.adapter_store, models.trainer,
        settings.provided.model.path, settings.provided.scratch_dir,
    )
    generate_once = providers.Factory(
        GenerateOnce, models.llm, settings.provided.persona, settings.provided.sampling
    )
    generate_data = providers.Factory(
        GenerateData, models.generator, storage.sample_store, models.generation_config
    )
    prepare_data = providers.Factory(
        PrepareData, storage.sample_store, models.llm.provided.count_tokens
    )
    data_stats = providers.Factory(
        DataStats, storage.sample_store, models.generation_config.provided.categories
    )


class Container(containers.DeclarativeContainer):
    """The application's root container; build it with :func:`build_container`."""

    config = providers.Configuration()
    settings = providers.Dependency(instance_of=Settings)

    storage = providers.Container(Storage, config=config, settings=settings)
    models = providers.Container(Models, config=config, settings=settings)
    use_cases = providers.Container(UseCases, settings=settings, storage=storage, models=models)


def container_for(settings: Settings) -> Container:
    """A container for already-validated settings (tests build settings by hand too)."""
    container = Container(settings=providers.Object(settings))
    container.config.from_dict({"backends": dict(settings.backends)})
    return container


def build_container(
    config_file: Path | None = None,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    model: str | None = None,
) -> Container:
    """Resolve and load the config (``--config`` > ``EVOTR_CONFIG`` > home copy > defaults).

    ``home`` (``--home``) beats ``EVOTR_HOME``, which beats the config's ``home`` key;
    ``model`` (``--model``) replaces ``model.path``.
    """
    import attrs

    from evotr.application.settings import ModelSettings
    from evotr.infrastructure.config.loader import load_settings, resolve_config_file

    environ = os.environ if env is None else env
    # A home copy of evotr.yaml (made by `evotr init`) is found in the home we would use.
    guess = home or (Path(environ["EVOTR_HOME"]) if environ.get("EVOTR_HOME") else Path(".evotr"))
    chosen = resolve_config_file(config_file, guess, environ)
    settings = load_settings(chosen, home=home, env=environ)
    if model is not None:
        settings = attrs.evolve(settings, model=ModelSettings(model))
    return container_for(settings)
