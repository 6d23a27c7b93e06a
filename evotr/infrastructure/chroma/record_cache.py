"""What this process has read from an embedded Chroma collection, so a chat turn reads it once.

Why: at 10,000 memories a nearest-30 query took ~2.6 ms for ids and distances alone and ~6 ms
with the records' text and metadata (Chroma reads each returned record from SQLite), and the
same memories come back turn after turn. A slot lookup (``find``) took ~3 ms and its answer only
changes when a fact about that subject is written. Both are kept here and dropped when this
process writes what they hold.

Only for the embedded ``PersistentClient``; with a server (``memory.chroma_url``) others may
write, and nothing is cached. Other processes on the same folder (`evotr memory forget` in
another terminal) are noticed by version.py and the store then drops the whole cache
(:meth:`RecordCache.clear`). Reads that overlap a write are not cached (the generation
counter): a reader that started before a write finished may have read the old record.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from evotr.domain.memory import MemoryRecord, MetadataValue

# A record without its vector (what ranking needs), kept whole: records are immutable, and
# building 80 of them a turn cost ~0.4 ms.
Entry = MemoryRecord
FindKey = tuple[tuple[tuple[str, MetadataValue], ...], int | None, int]


class RecordCache:
    """LRU of records by id and of ``find`` answers by filter, invalidated by this process's writes."""

    def __init__(self, size: int = 50_000, finds: int = 256, find_rows: int = 64) -> None:
        self._records: OrderedDict[str, Entry] = OrderedDict()
        self._finds: OrderedDict[FindKey, list[MemoryRecord]] = OrderedDict()
        self._size = size
        self._find_size = finds
        # Slot lookups return a few records; a listing (`memory list --kind exchange`) returns
        # thousands with their vectors, and keeping it would cost memory and save nothing.
        self._find_rows = find_rows
        # Ids the search returned but the store no longer holds (deleted by another process:
        # Chroma's in-memory index keeps returning them), so they are not read again each turn.
        self._absent: set[str] = set()
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        """Bumped by every write: a read is cached only if no write began or ended during it."""
        return self._generation

    def entries(self, ids: Iterable[str]) -> dict[str, Entry]:
        """The cached records (without vectors) of those ``ids`` that are cached."""
        found = {}
        with self._lock:
            for i in ids:
                entry = self._records.get(i)
                if entry is not None:
                    self._records.move_to_end(i)
                    found[i] = entry
        return found

    def absent(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` known to be gone from the store."""
        with self._lock:
            return self._absent.intersection(ids)

    def clear(self) -> None:
        """Forget everything (another process wrote the store); reads in flight are not kept."""
        with self._lock:
            self._generation += 1
            self._records.clear()
            self._finds.clear()
            self._absent.clear()

    def put(self, generation: int, entries: Mapping[str, Entry], absent: Iterable[str] = ()) -> None:
        """Keep records read while the cache was at ``generation`` (dropped if a write came
        between), and the ids that read found gone."""
        with self._lock:
            if generation != self._generation:
                return
            self._absent.update(absent)
            for i, entry in entries.items():
                self._records[i] = entry
                self._records.move_to_end(i)
            while len(self._records) > self._size:
                self._records.popitem(last=False)

    def find(self, key: FindKey, read: Callable[[], list[MemoryRecord]]) -> list[MemoryRecord]:
        """A cached ``find`` answer, or ``read()``'s, kept unless a write overlapped it."""
        with self._lock:
            cached = self._finds.get(key)
            if cached is not None:
                self._finds.move_to_end(key)
                return list(cached)
            generation = self._generation
        found = read()
        with self._lock:
            if generation == self._generation and len(found) <= self._find_rows:
                self._finds[key] = list(found)
                while len(self._finds) > self._find_size:
                    self._finds.popitem(last=False)
        return found

    def written(self, ids: Sequence[str], metadatas: Sequence[Mapping[str, MetadataValue]] = (),
                stored: Mapping[str, Entry] | None = None) -> None:
        """Forget what an upsert or delete of ``ids`` changes; called before and after the write.

        ``metadatas``: an upsert's new metadata: a cached find whose filter one matches is
        dropped, as is any find holding one of ``ids``. ``stored`` (after an upsert): what was
        written, kept as read: each turn stores an exchange that later turns find.
        """
        changed = set(ids)
        with self._lock:
            self._generation += 1
            self._absent -= changed
            for i in changed:
                self._records.pop(i, None)
            for i, entry in (stored or {}).items():
                self._records[i] = entry
            for key in list(self._finds):
                where = dict(key[0])
                if (any(r.id in changed for r in self._finds[key])
                        or any(_matches(m, where) for m in metadatas)):
                    del self._finds[key]

    def updated(self, updates: Mapping[str, Mapping[str, MetadataValue]], done: bool) -> None:
        """An update_metadata: before it (``done`` False) only bumps the generation; after it the
        cached copies get the same merge Chroma made. Why not forget them: every turn updates
        the recall counts of what it used, and those are the records the next turn reads. A
        find filtering on an updated key is dropped (a record may now match it)."""
        keys = {key for change in updates.values() for key in change}
        with self._lock:
            self._generation += 1
            if not done:
                return
            for i, change in updates.items():
                entry = self._records.get(i)
                if entry is not None:
                    self._records[i] = attrs.evolve(entry, metadata={**entry.metadata, **change})
            for key in list(self._finds):
                if keys & dict(key[0]).keys():
                    del self._finds[key]
                    continue
                self._finds[key] = [attrs.evolve(r, metadata={**r.metadata, **updates[r.id]})
                                    if r.id in updates else r for r in self._finds[key]]


def find_key(where: Mapping[str, MetadataValue] | None, limit: int | None, offset: int) -> FindKey:
    """The cache key of one ``find`` call."""
    return tuple(sorted((where or {}).items())), limit, offset


def _matches(metadata: Mapping[str, MetadataValue], where: Mapping[str, MetadataValue]) -> bool:
    return all(metadata.get(k) == v for k, v in where.items())
