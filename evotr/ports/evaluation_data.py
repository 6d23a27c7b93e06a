"""Files that measure models: a dataset's validation split, prompt lists, preference pairs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from evotr.domain.conversation import Message
from evotr.domain.evaluation import PreferencePair


@runtime_checkable
class EvaluationData(Protocol):
    """Reads evaluation inputs strictly: a malformed line is an EvoTrError naming ``file:line``."""

    def is_dataset(self, folder: Path) -> bool:
        """Whether ``folder`` is an mlx-lm dataset folder with a ``valid.jsonl``."""
        ...

    def conversations(self, folder: Path, split: str = "valid") -> Sequence[Sequence[Message]]:
        """One split of a chat dataset: ``valid.jsonl``, or ``train.jsonl`` when ``split`` says so."""
        ...

    def prompts(self, file: Path) -> Sequence[str]:
        """User prompts: one per line of a text file, or ``{"prompt": ...}`` per line of a ``.jsonl``."""
        ...

    def pairs(self, file: Path) -> Sequence[PreferencePair]:
        """Preference pairs, one ``{"prompt", "chosen", "rejected"}`` object per JSONL line."""
        ...
