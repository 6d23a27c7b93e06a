"""Homes and adapters for `adapters compare` tests: the tiny model, a zero adapter, a trained one."""

from __future__ import annotations

import shutil
from pathlib import Path

from evotr.container import Container, build_container
from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterVersion
from evotr.domain.training import TrainingJob
from evotr.infrastructure.mlx.adapter_folder import write_adapter_folder
from evotr.infrastructure.mlx.tiny_datasets import write_tiny_chat_dataset
from evotr.infrastructure.mlx.trainer import MlxLoraTrainer
from tests.adapter_fixtures import fake_adapter_weights

SHIPPED_MODEL = "path: mlx-community/Qwen2.5-3B-Instruct-4bit"
DATASET = "tiny_tr_chat"


def tiny_home(home: Path, tiny: Path) -> Container:
    """An initialised home whose evotr.yaml serves ``tiny``, with ``data/tiny_tr_chat``."""
    build_container(home=home, env={}).use_cases.init_home().execute()
    config = home / "evotr.yaml"
    text = config.read_text("utf-8")
    assert SHIPPED_MODEL in text, "the shipped evotr.yaml no longer names the model this replaces"
    config.write_text(text.replace(SHIPPED_MODEL, f"path: {tiny}"), "utf-8")
    write_tiny_chat_dataset(home / "data" / DATASET, "tr_chat")
    return build_container(home=home, env={})


def zero_adapter(folder: Path) -> Path:
    """A genuine mlx-lm adapter whose lora_b are all zero: it adds exactly nothing (an untrained one)."""
    import mlx.core as mx

    weights = {name: mx.zeros_like(array) if name.endswith("lora_b") else array  # type: ignore[arg-type]
               for name, array in fake_adapter_weights().items()}
    return write_adapter_folder(folder, weights, num_layers=2, rank=4, model="tiny", iters=30,
                                learning_rate=1e-5)


def trained_adapter(folder: Path, tiny: Path, dataset: Path, *, iterations: int = 30) -> Path:
    """An adapter trained by evotr's mlx-lm trainer (lr 1e-3: enough to move the tiny model)."""
    job = TrainingJob(AdapterVersion.parse("tr_chat_v1"), str(tiny), str(dataset), iterations=iterations,
                      rank=8, num_layers=2, batch_size=2, learning_rate=1e-3, max_seq_length=512)
    MlxLoraTrainer(seed=0).train(job, folder)
    return folder


def store_adapter(container: Container, name: str, source: Path, dataset: str = DATASET) -> AdapterVersion:
    """Add ``source`` to the home's store as ``name`` (registered, not promoted)."""
    version = AdapterVersion.parse(name)
    store = container.storage.adapter_store()
    store.add(version, source, AdapterManifest(version, base_model="tiny", dataset=dataset))
    store.update_registry(lambda registry: registry.register(version))
    return version


def copy_adapter(source: Path, target: Path) -> Path:
    """A byte-identical copy of an adapter folder (the "V2 is really V1" case)."""
    shutil.copytree(source, target)
    return target
