"""A SampleStore in dictionaries: run bytes per category, datasets as lists (for tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evotr.domain.errors import EvoTrError
from evotr.infrastructure.datasets.jsonl_lines import decode_line, encode_record, parse_run
from evotr.ports.sample_store import BadLine, CategoryScan, RunWriter, SampleStore, StoredRecord


class InMemorySampleStore(SampleStore):
    """Same line rules as the JSONL store; ``runs[category][run_id]`` holds the raw bytes.

    Tests may put unfinished or malformed lines straight into ``runs``.
    """

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, bytearray]] = {}
        self.datasets: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self._locked: set[str] = set()

    def categories(self) -> list[str]:
        """Categories with at least one run."""
        return sorted(c for c, runs in self.runs.items() if runs)

    def scan(self, category: str) -> CategoryScan:
        """Parse every run of ``category`` in run-id order."""
        records: list[StoredRecord] = []
        truncated: list[BadLine] = []
        malformed: list[BadLine] = []
        runs = sorted(self.runs.get(category, {}))
        for run_id in runs:
            found, cut, bad = parse_run(f"memory:{category}/{run_id}", run_id,
                                        bytes(self.runs[category][run_id]))
            records += found
            truncated += cut
            malformed += bad
        return CategoryScan(category, tuple(runs), tuple(records), tuple(truncated), tuple(malformed))

    def open_run(self, category: str, run_id: str) -> RunWriter:
        """Lock the category and repair unfinished last lines, like the file store."""
        if category in self._locked:
            raise EvoTrError(f"category {category!r} is already being written")
        repaired = 0
        for raw in self.runs.get(category, {}).values():
            if raw and not raw.endswith(b"\n"):
                keep = raw.rfind(b"\n") + 1
                data, _ = decode_line(bytes(raw[keep:]))
                if data is not None:
                    raw.extend(b"\n")
                else:
                    repaired += 1 if raw[keep:].strip() else 0
                    del raw[keep:]
        self._locked.add(category)
        return _MemoryRunWriter(self, category, run_id, repaired)

    def write_dataset(self, name: str, splits: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
        """Replace the dataset's splits."""
        self.datasets[name] = {split: [dict(r) for r in rows] for split, rows in splits.items()}
        return f"memory:training/{name}"

    def release(self, category: str) -> None:
        """Called by a writer's close."""
        self._locked.discard(category)


class _MemoryRunWriter(RunWriter):
    def __init__(self, store: InMemorySampleStore, category: str, run_id: str, repaired: int) -> None:
        self._store, self._category, self._run_id, self._repaired = store, category, run_id, repaired
        self._open = True

    @property
    def location(self) -> str:
        """``memory:<category>/<run-id>``."""
        return f"memory:{self._category}/{self._run_id}"

    @property
    def repaired(self) -> int:
        """Unfinished lines cut when the run was opened."""
        return self._repaired

    def append(self, record: Mapping[str, Any]) -> None:
        """Add one line to the run."""
        if not self._open:
            raise EvoTrError(f"run {self._run_id} is closed")
        runs = self._store.runs.setdefault(self._category, {})
        runs.setdefault(self._run_id, bytearray()).extend(encode_record(dict(record)))

    def close(self) -> None:
        """Release the category."""
        if self._open:
            self._open = False
            self._store.release(self._category)
