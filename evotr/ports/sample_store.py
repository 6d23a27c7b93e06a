"""Where generated samples live (one append-only run file per generation run) and prepared datasets go."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs


@attrs.frozen(slots=True)
class StoredRecord:
    """One JSON object read back from a run; ``location`` is ``file:line`` for error messages."""

    location: str
    run_id: str
    data: Mapping[str, Any]


@attrs.frozen(slots=True)
class BadLine:
    """A line that is not a JSON object: ``file:line`` and what is wrong with it."""

    location: str
    problem: str


@attrs.frozen(slots=True)
class CategoryScan:
    """Everything stored for one category, runs in id (= time) order.

    ``truncated`` are unfinished last lines (a process killed mid-write): never data, always
    ignored. ``malformed`` are complete lines that are not JSON objects (edited by hand).
    """

    category: str
    runs: tuple[str, ...] = ()
    records: tuple[StoredRecord, ...] = ()
    truncated: tuple[BadLine, ...] = ()
    malformed: tuple[BadLine, ...] = ()


@runtime_checkable
class RunWriter(Protocol):
    """Appends the samples of one run; holds the category's lock until closed."""

    @property
    def location(self) -> str:
        """Where this run's samples go (a file path for the JSONL store)."""
        ...

    @property
    def repaired(self) -> int:
        """Unfinished last lines of earlier runs removed when the run was opened."""
        ...

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one sample durably before returning (a crash keeps it or loses only it)."""
        ...

    def close(self) -> None:
        """Release the category (idempotent)."""
        ...


@runtime_checkable
class SampleStore(Protocol):
    """Generated samples by category and run, plus the prepared mlx-lm datasets."""

    def categories(self) -> list[str]:
        """Categories that have at least one run, sorted."""
        ...

    def scan(self, category: str) -> CategoryScan:
        """Read every run of ``category`` (a category without runs gives an empty scan)."""
        ...

    def open_run(self, category: str, run_id: str) -> RunWriter:
        """Start run ``run_id``: lock the category against a second writer, drop unfinished
        last lines left by killed runs, and return the writer (nothing is created until the
        first append). Raises an EvoTrError if another run of the category is in progress."""
        ...

    def write_dataset(self, name: str, splits: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
        """Replace dataset ``name`` with one JSONL file per split, all at once; return where."""
        ...
