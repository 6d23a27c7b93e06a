"""Use cases: turn a category's runs into an mlx-lm chat dataset, and count what is stored.

The split is a pure function of each sample's id, so re-preparing after more generation keeps
every earlier sample on the side it was on (valid samples never leak into training). A dataset
that an adapter's manifest names is what that adapter was trained on: it is replaced only with
``force``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import PurePath
from typing import Any

import attrs

from evotr.application.datagen.records import SampleFileError, StoredSample, distinct_samples, read_sample
from evotr.domain.conversation import Message, Role, TokenCounter
from evotr.domain.errors import EvoTrError
from evotr.ports.adapter_store import AdapterStore
from evotr.ports.sample_store import SampleStore

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class DatasetError(EvoTrError):
    """The dataset cannot be prepared (bad name, nothing left to write)."""


@attrs.frozen(slots=True)
class PrepareReport:
    """Counts of a prepared dataset and where it was written."""

    category: str
    name: str
    location: str
    train: int
    valid: int
    duplicates: int
    dropped_too_long: int
    truncated_lines: int
    runs: int
    system_prompt: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return attrs.asdict(self)


def split_score(sample_id: str) -> float:
    """A number in [0, 1) fixed by the id: below ``valid_ratio`` means the valid split."""
    digest = hashlib.sha256(sample_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_ids(ids: Sequence[str], valid_ratio: float) -> tuple[list[str], list[str]]:
    """Deterministic train/valid split by id hash; each side gets at least one id when it can."""
    train = [i for i in ids if split_score(i) >= valid_ratio]
    valid = [i for i in ids if split_score(i) < valid_ratio]
    # mlx-lm trains without a valid set only with a warning and evaluates nothing; avoid that.
    if not valid and len(train) > 1 and valid_ratio > 0:
        moved = min(train, key=split_score)
        train.remove(moved)
        valid.append(moved)
    if not train and len(valid) > 1:
        moved = max(valid, key=split_score)
        valid.remove(moved)
        train.append(moved)
    return train, valid


class PrepareData:
    """Reads every run of a category and writes ``data/training/<name>/{train,valid}.jsonl``.

    With ``adapters``, a dataset named in an adapter's manifest is refused unless forced.
    """

    def __init__(self, store: SampleStore, count_tokens: TokenCounter,
                 adapters: AdapterStore | None = None) -> None:
        self._store = store
        self._count_tokens = count_tokens
        self._adapters = adapters

    def execute(
        self, category: str, name: str, *, valid_ratio: float = 0.1, max_seq_length: int = 512,
        system_prompt: str | None = None, force: bool = False,
    ) -> PrepareReport:
        """De-duplicate, drop samples over ``max_seq_length`` tokens, split, write atomically.

        A malformed stored line raises SampleFileError naming ``file:line``; an unfinished last
        line (a killed run) is skipped and counted in ``truncated_lines``. A dataset an adapter
        was trained on raises DatasetError unless ``force``.
        """
        if not _NAME_RE.fullmatch(name) or ".." in name:
            raise DatasetError(f"dataset name {name!r} must be letters, digits, '.', '_' or '-'")
        if not force:
            self._refuse_trained_on(name)
        if not 0.0 <= valid_ratio < 1.0:
            raise DatasetError(f"valid_ratio must be in [0, 1), got {valid_ratio}")
        if max_seq_length < 1:
            raise DatasetError(f"max_seq_length must be at least 1, got {max_seq_length}")
        existing = distinct_samples(self._store.scan(category))
        if not existing.samples:
            raise DatasetError(f"category {category!r} has no samples; run `evotr data generate "
                               f"--category {category} --count N` first")
        rows: dict[str, dict[str, Any]] = {}
        too_long = 0
        for sample in existing.samples:
            messages = _messages(sample, system_prompt)
            if self._count_tokens(messages) > max_seq_length:
                too_long += 1
                continue
            rows[sample.id] = {"messages": [m.as_dict() for m in messages]}
        if not rows:
            raise DatasetError(f"all {too_long} samples of {category!r} are longer than "
                               f"max_seq_length={max_seq_length} tokens; raise it")
        train, valid = split_ids(list(rows), valid_ratio)
        location = self._store.write_dataset(
            name, {"train": [rows[i] for i in train], "valid": [rows[i] for i in valid]}
        )
        return PrepareReport(
            category=category, name=name, location=location, train=len(train), valid=len(valid),
            duplicates=existing.duplicates, dropped_too_long=too_long,
            truncated_lines=existing.truncated, runs=existing.runs,
            system_prompt=system_prompt is not None,
        )


    def _refuse_trained_on(self, name: str) -> None:
        if self._adapters is None:
            return
        users = []
        for version in self._adapters.versions():
            try:
                manifest = self._adapters.manifest(version)
            except EvoTrError:
                continue  # a corrupt manifest names nothing; `adapters check` reports it
            if manifest is not None and _names_dataset(manifest.dataset, name):
                users.append(f"{version} ({manifest.dataset})")
        if users:
            raise DatasetError(
                f"dataset {name!r} is the training data of adapter {', '.join(users)} (its manifest.json "
                "names it); preparing it again would replace what that adapter was trained on. Choose "
                "another --name, or pass --force to overwrite it"
            )


def _names_dataset(recorded: str, name: str) -> bool:
    """Whether a manifest's ``dataset`` is the prepared dataset ``name`` (``.../training/<name>``).

    Manifests keep the path training was given, absolute or relative to wherever it ran, so
    the last two parts are compared rather than resolved paths.
    """
    parts = PurePath(recorded).parts
    return recorded == name or (len(parts) >= 2 and parts[-2:] == ("training", name))


def _messages(sample: StoredSample, system_prompt: str | None) -> list[Message]:
    messages = [Message(Role.USER, sample.user), Message(Role.ASSISTANT, sample.assistant)]
    if system_prompt is not None and system_prompt.strip():
        messages.insert(0, Message(Role.SYSTEM, system_prompt.strip()))
    return messages


@attrs.frozen(slots=True)
class CategoryStats:
    """What one category holds on disk."""

    category: str
    valid: int
    duplicates: int
    runs: int
    truncated_lines: int
    malformed_lines: int
    configured: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return attrs.asdict(self)


class DataStats:
    """Samples per category (configured ones too, even before their first run)."""

    def __init__(self, store: SampleStore, configured: Iterable[str] = ()) -> None:
        self._store = store
        self._configured = list(configured)

    def execute(self) -> list[CategoryStats]:
        """One entry per category; unreadable lines are counted here, not raised."""
        names = sorted(set(self._store.categories()) | set(self._configured))
        return [self._one(name) for name in names]

    def _one(self, name: str) -> CategoryStats:
        scan = self._store.scan(name)
        keys: set[str] = set()
        readable = 0
        for record in scan.records:
            try:
                keys.add(read_sample(record).key)
                readable += 1
            except SampleFileError:
                pass
        broken = len(scan.malformed) + len(scan.records) - readable
        return CategoryStats(name, len(keys), readable - len(keys), len(scan.runs), len(scan.truncated),
                             broken, name in self._configured)
