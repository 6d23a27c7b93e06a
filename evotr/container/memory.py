"""Long-term memory use cases: recall and remember for chat, and `evotr memory`'s commands."""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from evotr.application.exemplar_sync import SyncExemplars
from evotr.application.exemplars import LearnExemplar, RecallExemplars
from evotr.application.memory import (
    BackgroundWrites,
    ClearMemories,
    ExportMemories,
    ForgetMemory,
    ListMemories,
    LongTermMemory,
    RecallMemory,
    RememberTurn,
    SearchMemories,
    ShowMemory,
)
from evotr.application.settings import Settings
from evotr.container import routing
from evotr.domain.exemplar_cache import ExemplarCache


def _enabled(settings: Settings, memory: Any) -> Any:
    """The chat turn's long-term memory, or None when memory.enabled is false."""
    return memory() if settings.memory.enabled else None


class Memory(containers.DeclarativeContainer):
    """Use cases on the ``memories`` collection (models.vector_store) with models.embedder."""

    settings = providers.Dependency(instance_of=Settings)
    models = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()

    policy = providers.Callable(lambda settings: settings.memory.policy, settings)
    # The router's cache: in a chat turn the router has already embedded this message.
    recall = providers.Factory(RecallMemory, models.vector_store, models.shared_embedder, policy,
                               also_embed=providers.Callable(routing.router_spellings,
                                                             models.classifier.provider),
                               query_map=models.query_map, second=models.second_opinion)
    remember = providers.Factory(RememberTurn, models.vector_store, policy, second=models.second_opinion,
                                 embedder=models.shared_embedder)
    # Built only when a chat turn is: the store and the embedder open on first use anyway.
    # One writer per container: chat turns queue their writes on it, the next recall flushes it.
    writes = providers.Singleton(BackgroundWrites)
    long_term = providers.Callable(
        _enabled, settings, providers.Factory(LongTermMemory, recall, remember, writes).provider
    )
    # The dynamic prompt, on the ``exemplars`` collection: one cache per container, which chat
    # turns read and verdicts invalidate.
    exemplar_policy = providers.Callable(lambda settings: settings.memory.exemplar_policy, settings)
    exemplar_cache = providers.Singleton(ExemplarCache, exemplar_policy.provided.cache_size)
    learn_exemplar = providers.Factory(LearnExemplar, models.exemplar_store, models.shared_embedder,
                                       exemplar_cache)
    # One per container: it remembers how far this process has applied the stored verdicts.
    sync_exemplars = providers.Singleton(
        SyncExemplars, storage.feedback_repository, learn_exemplar, models.exemplar_store, exemplar_cache
    )
    recall_exemplars = providers.Factory(
        RecallExemplars, models.exemplar_store, models.shared_embedder, exemplar_cache, exemplar_policy,
        sync_exemplars.provided.execute,
    )
    list_memories = providers.Factory(ListMemories, models.vector_store)
    search_memories = providers.Factory(SearchMemories, models.vector_store, models.shared_embedder,
                                        models.query_map, models.second_opinion)
    show_memory = providers.Factory(ShowMemory, models.vector_store)
    forget_memory = providers.Factory(ForgetMemory, models.vector_store)
    clear_memories = providers.Factory(ClearMemories, models.vector_store)
    export_memories = providers.Factory(ExportMemories, models.vector_store, storage.rows_writer)
