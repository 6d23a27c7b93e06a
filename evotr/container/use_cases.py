"""Application use cases wired to whichever backends were selected."""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from evotr.application.adapters import (
    ListAdapters,
    PromoteAdapter,
    RebuildRegistry,
    ResolveAdapter,
    RollbackAdapter,
    ValidateAdapters,
)
from evotr.application.adapters.details import ShowAdapter
from evotr.application.adapters.interop import ExportAdapter, ImportAdapter
from evotr.application.assistant import Assistant
from evotr.application.chat import ChatTurn, ChooseAdapter
from evotr.application.datagen import DataStats, GenerateData, PrepareData
from evotr.application.feedback import GetFeedbackStats, RecordFeedback
from evotr.application.feedback_review import ListFeedback, ShowFeedback
from evotr.application.home import InitHome
from evotr.application.learning.auto_train import AutoTrain
from evotr.application.learning.compare import CompareAdapters
from evotr.application.learning.export import ExportFeedback
from evotr.application.learning.preference import PreferenceAccuracy
from evotr.application.router_eval import EvaluateRouter, TuneThreshold
from evotr.application.routing import RouteMessage
from evotr.application.serving.completion import CompleteChat
from evotr.application.serving.feedback import GiveFeedback
from evotr.application.serving.models import ListModels, ResolveModel
from evotr.application.settings import Settings
from evotr.application.startup import WarmUp
from evotr.application.training import TrainAdapter
from evotr.application.turns import SaveTurn
from evotr.container import factories


def _with_memory(settings: Settings, second: Any) -> Any:
    """Recall's second opinion when long-term memory is on (built now, loaded at warm-up), else None."""
    return second() if settings.memory.enabled else None


class UseCases(containers.DeclarativeContainer):
    """Application use cases wired to whichever backends were selected."""

    settings = providers.Dependency(instance_of=Settings)
    storage = providers.DependenciesContainer()
    models = providers.DependenciesContainer()
    memory = providers.DependenciesContainer()

    init_home = providers.Factory(
        InitHome, storage.workspace, storage.feedback_repository, storage.adapter_store
    )
    feedback_stats = providers.Factory(
        GetFeedbackStats, storage.feedback_repository, settings.provided.gate
    )
    record_feedback = providers.Factory(RecordFeedback, storage.feedback_repository, storage.learned_routes,
                                        memory.sync_exemplars)
    list_feedback = providers.Factory(ListFeedback, storage.feedback_repository, settings.provided.intents)
    show_feedback = providers.Factory(ShowFeedback, storage.feedback_repository, settings.provided.intents)
    export_feedback = providers.Factory(
        ExportFeedback, storage.feedback_repository, settings.provided.intents, storage.rows_writer
    )
    list_adapters = providers.Factory(
        ListAdapters, settings.provided.intents, storage.adapter_store
    )
    validate_adapters = providers.Factory(
        ValidateAdapters, settings.provided.intents, storage.adapter_store
    )
    resolve_adapter = providers.Factory(
        ResolveAdapter, settings.provided.intents, storage.adapter_store
    )
    # Promotions and rollbacks are appended to adapters/history.jsonl (`evotr adapters history`).
    promote_adapter = providers.Factory(
        PromoteAdapter, settings.provided.intents, storage.adapter_store, storage.adapter_history
    )
    rollback_adapter = providers.Factory(
        RollbackAdapter, settings.provided.intents, storage.adapter_store, storage.adapter_history
    )
    rebuild_registry = providers.Factory(RebuildRegistry, storage.adapter_store)
    show_adapter = providers.Factory(ShowAdapter, storage.adapter_store)
    # One resident model (models.llm is a singleton): base, A and B are hot-swapped on it.
    compare_adapters = providers.Factory(
        CompareAdapters, storage.adapter_store, models.llm, storage.evaluation_data,
        settings.provided.data_dir,
    )
    preference_accuracy = providers.Factory(PreferenceAccuracy, models.llm)
    # Imports are checked against the configured model; exports need no model at all.
    import_adapter = providers.Factory(
        ImportAdapter, settings.provided.intents, storage.adapter_store,
        providers.Factory(factories.adapter_converter, models.llm), settings.provided.model.path,
    )
    export_adapter = providers.Factory(
        ExportAdapter, storage.adapter_store, providers.Factory(factories.adapter_converter)
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
        memory=memory.long_term,
        exemplars=memory.recall_exemplars,
    )
    # With memory on, start-up also loads recall's second opinion (None when off).
    warm_up = providers.Factory(
        WarmUp, settings.provided.intents, storage.adapter_store, models.llm,
        second=providers.Callable(_with_memory, settings, models.second_opinion.provider),
    )
    choose_adapter = providers.Factory(
        ChooseAdapter, settings.provided.intents, storage.adapter_store
    )
    # feedback.auto_train: a correction that opens a family's gate trains it in the background.
    auto_train = providers.Factory(
        AutoTrain, storage.feedback_repository, settings.provided.intents, storage.adapter_history,
        storage.background_training, settings.provided.gate.min_corrections, settings.provided.auto_train,
    )
    assistant = providers.Factory(
        Assistant, chat_turn, record_feedback, feedback_stats, choose_adapter, auto_train=auto_train,
        forget_memory=memory.forget_memory, memory_writes=memory.writes,
    )
    # `evotr serve`: model names are adapter choices; completions go through the same chat turn.
    list_models = providers.Factory(ListModels, list_adapters)
    resolve_model = providers.Factory(
        ResolveModel, settings.provided.intents, storage.adapter_store, list_models
    )
    complete_chat = providers.Factory(CompleteChat, chat_turn)
    give_feedback = providers.Factory(GiveFeedback, record_feedback, auto_train)
    train_adapter = providers.Factory(
        TrainAdapter, settings.provided.intents, storage.adapter_store, models.trainer,
        settings.provided.model.path, settings.provided.scratch_dir,
    )
    generate_data = providers.Factory(
        GenerateData, models.generator, storage.sample_store, models.generation_config
    )
    # The adapter store lets prepare refuse to overwrite a dataset an adapter was trained on.
    prepare_data = providers.Factory(
        PrepareData, storage.sample_store, models.llm.provided.count_tokens, storage.adapter_store
    )
    data_stats = providers.Factory(
        DataStats, storage.sample_store, models.generation_config.provided.categories
    )
