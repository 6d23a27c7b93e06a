"""Errors of the MLX backend; each message says what to do next."""

from __future__ import annotations

from evotr.domain.errors import EvoTrError


class ModelLoadError(EvoTrError):
    """The base model could not be found or loaded; the message names it and says how to fix it."""


class AdapterNotSupportedError(EvoTrError, NotImplementedError):
    """A LoRA adapter was requested from a backend that cannot apply adapters yet."""
