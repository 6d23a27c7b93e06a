"""Errors of the MLX backend; each message says what to do next."""

from __future__ import annotations

from pathlib import Path

from evotr.domain.errors import EvoTrError


class ModelLoadError(EvoTrError):
    """The base model could not be found or loaded; the message names it and says how to fix it."""


class AdapterLoadError(EvoTrError):
    """An adapter folder could not be read or does not fit the loaded base model.

    The message names the version and the folder; nothing was registered.
    """

    def __init__(self, version: object, path: Path | str, reason: str) -> None:
        super().__init__(f"adapter {version} at {str(path)!r} cannot be registered: {reason}")
        self.version = version
        self.path = Path(path)
        self.reason = reason


class TrainingError(EvoTrError):
    """A LoRA training run could not start or finish; the message names the file or setting at fault."""
