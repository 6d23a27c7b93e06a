"""SampleStore on the filesystem: ``generated/<category>/<run-id>.jsonl`` and ``training/<name>/``.

Samples are appended one line per write with fsync, so a killed process loses at most the
line being written. A ``.lock`` file per category (``flock``) keeps two runs of the same
category from writing at once; the kernel releases it when a process dies, even by SIGKILL.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evotr.domain.errors import EvoTrError
from evotr.infrastructure.datasets.jsonl_lines import decode_line, encode_record, parse_run
from evotr.infrastructure.filesystem.atomic import fsync_dir, replace_dir, write_synced
from evotr.ports.sample_store import BadLine, CategoryScan, RunWriter, SampleStore, StoredRecord

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LOCK_NAME = ".lock"


class SampleStoreError(EvoTrError):
    """The sample store cannot do what was asked (busy category, bad name, I/O failure)."""


def _safe(kind: str, name: str) -> str:
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise SampleStoreError(f"{kind} {name!r} must be letters, digits, '.', '_' or '-'")
    return name


class JsonlSampleStore(SampleStore):
    """Runs and datasets under ``root`` (the home's ``data/`` folder)."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    @property
    def generated_dir(self) -> Path:
        """Where the run files of every category live."""
        return self._root / "generated"

    @property
    def training_dir(self) -> Path:
        """Where prepared datasets go."""
        return self._root / "training"

    def categories(self) -> list[str]:
        """Categories with at least one run file."""
        if not self.generated_dir.is_dir():
            return []
        return sorted(d.name for d in self.generated_dir.iterdir() if d.is_dir() and any(d.glob("*.jsonl")))

    def run_files(self, category: str) -> list[Path]:
        """The category's run files, oldest run first (run ids start with their UTC time)."""
        folder = self.generated_dir / _safe("category", category)
        return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []

    def scan(self, category: str) -> CategoryScan:
        """Every record of every run, with unfinished and malformed lines set apart."""
        records: list[StoredRecord] = []
        truncated: list[BadLine] = []
        malformed: list[BadLine] = []
        runs = []
        for path in self.run_files(category):
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise SampleStoreError(f"{path}: cannot read the run file: {exc.strerror or exc}") from exc
            found, cut, bad = parse_run(str(path), path.stem, raw)
            records += found
            truncated += cut
            malformed += bad
            runs.append(path.stem)
        return CategoryScan(category, tuple(runs), tuple(records), tuple(truncated), tuple(malformed))

    def open_run(self, category: str, run_id: str) -> RunWriter:
        """Lock the category, repair the last lines of earlier runs, return the run's writer."""
        folder = self.generated_dir / _safe("category", category)
        folder.mkdir(parents=True, exist_ok=True)
        lock = _lock(folder / LOCK_NAME, category)
        try:
            repaired = sum(_repair_tail(path) for path in sorted(folder.glob("*.jsonl")))
        except BaseException:
            os.close(lock)  # closing the descriptor releases the flock
            raise
        return _JsonlRunWriter(folder / f"{_safe('run id', run_id)}.jsonl", lock, repaired)

    def write_dataset(self, name: str, splits: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
        """Write every split into a fresh folder, then swap it in for ``training/<name>``."""
        target = self.training_dir / _safe("dataset name", name)
        self.training_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=self.training_dir))
        try:
            for split, rows in splits.items():
                write_synced(staging / f"{_safe('split', split)}.jsonl",
                             b"".join(encode_record(dict(row)) for row in rows))
            os.chmod(staging, 0o755)  # mkdtemp makes it private; a dataset is for reading
            fsync_dir(staging)
            replace_dir(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return str(target)


def _lock(path: Path, category: str) -> int:
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise SampleStoreError(
            f"another `evotr data generate` is writing category {category!r} (lock {path}); "
            "wait for it to finish or stop it first"
        ) from None
    return fd


def _repair_tail(path: Path) -> int:
    """Cut an unfinished last line (1), or end a whole-object last line with its newline (0)."""
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return 0
        handle.seek(0)
        raw = handle.read()
        keep = raw.rfind(b"\n") + 1  # 0 when the only line is unfinished
        data, _ = decode_line(raw[keep:])
        if data is not None:
            handle.write(b"\n")
            cut = 0
        elif raw[keep:].strip():
            handle.truncate(keep)
            cut = 1
        else:
            handle.truncate(keep)  # trailing spaces only: nothing was lost
            cut = 0
        handle.flush()
        os.fsync(handle.fileno())
        return cut



class _JsonlRunWriter(RunWriter):
    """Appends to one run file (created on the first sample) while holding the category lock."""

    def __init__(self, path: Path, lock_fd: int, repaired: int) -> None:
        self._path = path
        self._lock_fd: int | None = lock_fd
        self._fd: int | None = None
        self._repaired = repaired

    @property
    def location(self) -> str:
        """The run file's path."""
        return str(self._path)

    @property
    def repaired(self) -> int:
        """Unfinished lines cut from earlier runs when this run was opened."""
        return self._repaired

    def append(self, record: Mapping[str, Any]) -> None:
        """Write the record as one line with a single write, then fsync before returning."""
        if self._lock_fd is None:
            raise SampleStoreError(f"run {self._path.stem} is closed")
        data = encode_record(dict(record))
        if self._fd is None:
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            fsync_dir(self._path.parent)  # the new file's name must survive a crash too
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the run file and release the category lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
