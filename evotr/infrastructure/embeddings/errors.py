"""An embedder whose package is missing or whose model would not load."""

from __future__ import annotations

from evotr.domain.errors import EvoTrError


class EmbedderUnavailableError(EvoTrError):
    """The configured ``memory.embedder`` cannot run here; the message says what to install or set."""
