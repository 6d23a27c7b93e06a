"""Failures of the Chroma store, each one line that says where and what to do."""

from __future__ import annotations

from evotr.domain.errors import EvoTrError


class ChromaStoreError(EvoTrError):
    """The Chroma store could not be reached or opened, or holds vectors of another embedder."""
