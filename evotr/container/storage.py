"""Where data lives: the feedback DB, the adapter store, the home folder, generated samples."""

from __future__ import annotations

from dependency_injector import containers, providers

from evotr.application.settings import Settings
from evotr.container import factories, learning, routing


class Storage(containers.DeclarativeContainer):
    """Where data lives: the feedback DB, the adapter store, the home folder."""

    config = providers.Configuration()
    settings = providers.Dependency(instance_of=Settings)

    feedback_repository = providers.Selector(
        config.backends.feedback,
        sqlite=providers.Singleton(factories.sqlite_feedback, settings.provided.db_path),
        memory=providers.Singleton(factories.memory_feedback),
    )
    adapter_store = providers.Selector(
        config.backends.adapters,
        filesystem=providers.Singleton(factories.filesystem_adapters, settings.provided.adapters_dir),
        memory=providers.Singleton(factories.memory_adapters, settings.provided.adapters_dir),
    )
    workspace = providers.Singleton(
        factories.workspace,
        settings.provided.home,
        settings.provided.config_file,
        settings.provided.intents_file,
    )
    sample_store = providers.Singleton(factories.jsonl_samples, settings.provided.data_dir)
    evaluation_data = providers.Singleton(factories.evaluation_files)
    # Misroute corrections the router learns at its next start (file in the home, any backend).
    learned_routes = providers.Singleton(routing.learned_routes, settings.provided.home)
    rows_writer = providers.Singleton(factories.rows_writer)
    # The learning loop's log of decisions, promotions and rollbacks, and its background runs.
    adapter_history = providers.Singleton(learning.adapter_history, settings.provided.adapters_dir)
    background_training = providers.Singleton(
        learning.background_training, settings.provided.home, settings.provided.config_file
    )
