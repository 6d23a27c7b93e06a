"""Use cases for the user's control over long-term memory: list, search, show, forget, clear, export."""

from __future__ import annotations

from pathlib import Path

import attrs

from evotr.application.memory.ranking import BREADTH
from evotr.application.memory.recall import RecallMemory
from evotr.application.memory.second_opinion import SecondOpinion
from evotr.domain.errors import EvoTrError
from evotr.domain.memory import KIND, MemoryMetadata, MemoryRecord
from evotr.domain.memory_rules import ACTIVE, SAID, STATED, STATUS, SUPERSEDED_BY, SUPERSEDES, MemoryPolicy
from evotr.ports.embedder import Embedder
from evotr.ports.query_map import QueryMap
from evotr.ports.rows_writer import RowsWriter
from evotr.ports.vector_store import VectorStore

_PAGE = 1_000


class MemoryNotFoundError(EvoTrError):
    """No memory has the id the user gave."""


def _require(store: VectorStore, memory_id: str) -> MemoryRecord:
    found = store.get([memory_id.strip()])
    if not found:
        raise MemoryNotFoundError(f"no memory with id {memory_id!r}; `evotr memory list` shows the ids")
    return found[0]


@attrs.frozen(slots=True)
class MemoryView:
    """One stored memory as the user sees it (no vector)."""

    id: str
    kind: str
    text: str
    status: str
    session: str
    time: float
    recall_count: int
    last_recalled: float
    stated: int = 1
    said: str = ""
    supersedes: tuple[str, ...] = ()
    superseded_by: str = ""
    score: float | None = None

    @classmethod
    def of(cls, record: MemoryRecord, score: float | None = None) -> MemoryView:
        """The view of a stored record (records written by older code lack the extra keys)."""
        meta = record.metadata
        standard = MemoryMetadata.from_metadata(meta)
        supersedes = str(meta.get(SUPERSEDES, ""))
        return cls(record.id, standard.kind.value, record.text, str(meta.get(STATUS, ACTIVE)),
                   standard.session, standard.time, standard.recall_count, standard.last_recalled,
                   int(meta.get(STATED, 1)),
                   str(meta.get(SAID, "")), tuple(s for s in supersedes.split(",") if s),
                   str(meta.get(SUPERSEDED_BY, "")), score)

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of `evotr memory list --json` and `export`."""
        data = attrs.asdict(self)
        data["supersedes"] = list(self.supersedes)
        if self.score is None:
            del data["score"]
        else:
            data["score"] = round(self.score, 4)
        return data


def _all(store: VectorStore) -> list[MemoryRecord]:
    records: list[MemoryRecord] = []
    while True:
        page = store.find(limit=_PAGE, offset=len(records))
        records.extend(page)
        if len(page) < _PAGE:
            return records


class ListMemories:
    """Every memory, facts first, newest first within a kind; superseded history only if asked."""

    def __init__(self, store: VectorStore) -> None:
        self._store = store

    def execute(self, kind: str | None = None, include_history: bool = False) -> list[MemoryView]:
        """Views of the stored memories (``kind``: fact or exchange)."""
        views = [MemoryView.of(r) for r in (_all(self._store) if kind is None
                                            else self._store.find({KIND: kind}))]
        if not include_history:
            views = [v for v in views if v.status == ACTIVE]
        return sorted(views, key=lambda v: (v.kind != "fact", -v.time))


class SearchMemories:
    """The memories most relevant to a query, found and ranked exactly as recall ranks them."""

    def __init__(self, store: VectorStore, embedder: Embedder, query_map: QueryMap | None = None,
                 second: SecondOpinion | None = None) -> None:
        self._recall = RecallMemory(store, embedder, MemoryPolicy(), query_map=query_map, second=second)

    def execute(self, query: str, k: int = 10) -> list[MemoryView]:
        """Up to ``k`` active memories, best first, with their (hybrid) score."""
        if not query.strip():
            raise EvoTrError("search: the query is empty; give some words to look for")
        ranked = [h for h in self._recall.ranked(query, max(k, BREADTH))
                  if h.record.metadata.get(STATUS, ACTIVE) == ACTIVE]
        return [MemoryView.of(h.record, h.score) for h in ranked[:k]]


class ShowMemory:
    """One memory with its history: what it superseded (oldest first) and what superseded it."""

    def __init__(self, store: VectorStore) -> None:
        self._store = store

    def execute(self, memory_id: str) -> tuple[MemoryView, list[MemoryView]]:
        """The memory and the chain of older values it replaced, newest first."""
        view = MemoryView.of(_require(self._store, memory_id))
        return view, [MemoryView.of(r) for r in _history(self._store, view)]


def _history(store: VectorStore, view: MemoryView) -> list[MemoryRecord]:
    chain: list[MemoryRecord] = []
    pending, seen = list(view.supersedes), {view.id}
    while pending:
        found = [r for r in store.get(pending) if r.id not in seen]
        chain.extend(found)
        seen.update(r.id for r in found)
        pending = [s for r in found for s in str(r.metadata.get(SUPERSEDES, "")).split(",")
                   if s and s not in seen]
    return chain


class ForgetMemory:
    """Deletes a memory and the older values it superseded (forgetting a fact forgets its history)."""

    def __init__(self, store: VectorStore) -> None:
        self._store = store

    def execute(self, memory_id: str) -> list[str]:
        """The ids deleted (the memory first)."""
        view = MemoryView.of(_require(self._store, memory_id))
        ids = [view.id, *(r.id for r in _history(self._store, view))]
        self._store.delete(ids)
        return ids


class ClearMemories:
    """Deletes every long-term memory (the exemplars collection is not touched)."""

    def __init__(self, store: VectorStore) -> None:
        self._store = store

    def execute(self) -> int:
        """How many memories were deleted."""
        ids = [r.id for r in _all(self._store)]
        self._store.delete(ids)
        return len(ids)


class ExportMemories:
    """Writes every memory, history included, to a JSON Lines file (all or nothing)."""

    def __init__(self, store: VectorStore, writer: RowsWriter) -> None:
        self._store = store
        self._writer = writer

    def execute(self, path: Path) -> int:
        """The number of memories written to ``path``."""
        return self._writer.write_jsonl(path, (MemoryView.of(r).as_dict() for r in _all(self._store)))
