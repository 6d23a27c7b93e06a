"""Errors of the filesystem adapter store; each names the file or folder that was wrong."""

from __future__ import annotations

from pathlib import Path

from evotr.domain.errors import EvoTrError


class AdapterStoreError(EvoTrError):
    """An adapter file, folder or registry.json is missing, corrupt or refused; ``path`` names it.

    A corrupt file is never rewritten: the message says what is wrong so the user can fix or
    remove it by hand.
    """

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
