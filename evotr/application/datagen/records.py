"""The stored sample line, and reading a category's runs back into checked samples.

A line of ``data/generated/<category>/<run-id>.jsonl``::

    {"id": "<run-id>-00001", "category": "python_code", "topic": "...",
     "messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}],
     "model": "gemma-3-27b-it", "created_at": "2025-01-01T12:00:00+00:00",
     "usage": {"prompt_tokens": 120, "output_tokens": 340}}
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from evotr.application.datagen.parse import ParsedSample, user_hash
from evotr.domain.errors import EvoTrError
from evotr.domain.generation import TokenUsage
from evotr.ports.sample_store import CategoryScan, StoredRecord


class SampleFileError(EvoTrError):
    """A stored line is not a sample; the message starts with ``file:line``."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = location
        self.problem = problem


@attrs.frozen(slots=True)
class StoredSample:
    """A sample read back from a run, with its de-duplication key."""

    id: str
    location: str
    user: str
    assistant: str
    key: str


def sample_record(
    sample_id: str, category: str, topic: str, sample: ParsedSample, model: str,
    created_at: datetime, usage: TokenUsage,
) -> dict[str, Any]:
    """The JSON object written for one accepted sample."""
    return {
        "id": sample_id,
        "category": category,
        "topic": topic,
        "messages": [{"role": "user", "content": sample.user},
                     {"role": "assistant", "content": sample.assistant}],
        "model": model,
        "created_at": created_at.isoformat(timespec="seconds"),
        "usage": {"prompt_tokens": usage.prompt_tokens, "output_tokens": usage.output_tokens},
    }


def read_sample(record: StoredRecord) -> StoredSample:
    """Check one stored object; SampleFileError names its ``file:line`` and the problem."""
    data = record.data
    sample_id = data.get("id")
    if not isinstance(sample_id, str) or not sample_id:
        raise SampleFileError(record.location, 'expected a non-empty "id" string')
    messages = data.get("messages")
    if not isinstance(messages, list) or len(messages) != 2:
        raise SampleFileError(record.location, 'expected "messages" with a user and an assistant message')
    turns = []
    for message, role in zip(messages, ("user", "assistant"), strict=True):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(message, dict) or message.get("role") != role:
            raise SampleFileError(record.location, f'expected a "{role}" message in "messages"')
        if not isinstance(content, str) or not content.strip():
            raise SampleFileError(record.location, f'the "{role}" message has no text')
        turns.append(content)
    return StoredSample(sample_id, record.location, turns[0], turns[1], user_hash(turns[0]))


@attrs.frozen(slots=True)
class ExistingSamples:
    """The distinct samples of a category (first occurrence kept) and what was skipped."""

    samples: tuple[StoredSample, ...]
    duplicates: int
    truncated: int
    runs: int

    @property
    def keys(self) -> set[str]:
        """De-duplication keys of the kept samples."""
        return {s.key for s in self.samples}


def distinct_samples(scan: CategoryScan) -> ExistingSamples:
    """Check every stored line and de-duplicate by user turn.

    A malformed line is an error naming ``file:line`` (the writer never produces one, so the
    file was edited); an unfinished last line is skipped and counted.
    """
    if scan.malformed:
        bad = scan.malformed[0]
        more = f" (and {len(scan.malformed) - 1} more bad line(s))" if len(scan.malformed) > 1 else ""
        raise SampleFileError(bad.location, bad.problem + more)
    kept: list[StoredSample] = []
    seen: set[str] = set()
    for record in scan.records:
        sample = read_sample(record)
        if sample.key not in seen:
            seen.add(sample.key)
            kept.append(sample)
    return ExistingSamples(tuple(kept), len(scan.records) - len(kept), len(scan.truncated), len(scan.runs))
