"""The part every model-backed embedder shares: load once on first use, thread-safe, clear errors."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from evotr.infrastructure.embeddings.errors import EmbedderUnavailableError
from evotr.ports.embedder import Embedder


class LazyModelEmbedder(Embedder, ABC):
    """Loads its model on the first :meth:`embed`, so building the container costs nothing."""

    #: The ``memory.embedder`` value, the package to install, and the vector length.
    name: str = ""
    package: str = ""
    size: int = 0

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        """Length of every vector (known without loading the model)."""
        return self.size

    def load(self) -> Any:
        """The model, loaded now if it was not yet (benchmarks call this to time loading apart)."""
        with self._lock:
            if self._model is None:
                try:
                    self._model = self._load()
                except (ImportError, OSError, RuntimeError) as error:
                    # ImportError: not installed; OSError/RuntimeError: its engine or weights would not load.
                    raise EmbedderUnavailableError(
                        f"memory.embedder is {self.name} but its package {self.package} cannot be "
                        f"loaded ({str(error).strip() or type(error).__name__}); reinstall it with "
                        f"`pip install {self.package}` or choose another memory.embedder"
                    ) from None
            return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One L2-normalised vector per text, in order (none for no texts)."""
        if not texts:
            return []
        vectors = self._encode(self.load(), list(texts))
        result: list[list[float]] = vectors.astype("float64").tolist()
        return result

    @abstractmethod
    def _load(self) -> Any:
        """Import the package and build the model."""

    @abstractmethod
    def _encode(self, model: Any, texts: list[str]) -> Any:
        """A (len(texts), dimension) float array."""
