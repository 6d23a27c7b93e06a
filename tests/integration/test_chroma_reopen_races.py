"""Reopening the embedded Chroma client while other threads work (CI saw both races).

A chat turn reads while the background writer writes; a foreign commit makes the next caller
reopen the client (client.follow) and close the old one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from evotr.domain.memory import MemoryRecord
from evotr.infrastructure.chroma.client import ChromaClient
from evotr.infrastructure.chroma.vector_store import ChromaVectorStore
from evotr.infrastructure.chroma.version import DATABASE, StoreVersion

pytestmark = pytest.mark.integration


def commit(folder: Path, value: int) -> None:
    """A commit by a connection that is not the version's own (Chroma's, or another process's)."""
    with sqlite3.connect(folder / DATABASE) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER)")
        connection.execute("INSERT INTO t VALUES (?)", (value,))


def test_a_commit_inside_our_own_write_is_not_taken_for_another_processes(tmp_path: Path) -> None:
    commit(tmp_path, 0)
    version = StoreVersion(tmp_path)
    start = version.epoch()
    with version.writing():
        commit(tmp_path, 1)  # our write commits; a turn on another thread checks meanwhile
        assert version.epoch() == start
        commit(tmp_path, 2)
    assert version.epoch() == start
    commit(tmp_path, 3)  # after the bracket, a commit is someone else's again
    assert version.epoch() == start + 1


def test_a_collection_opened_before_another_thread_reopened_the_client_is_retried(tmp_path: Path) -> None:
    folder = tmp_path / "chroma"
    client = ChromaClient(folder)
    store = ChromaVectorStore(client, "memories", "test")
    store.upsert([MemoryRecord(f"r{n}", f"memory {n}", [float(n == i) + 0.05 for i in range(4)], {})
                  for n in range(3)])
    # The background writer holds the collection it opened (e.g. between nearest's search and
    # its read of the records) ...
    held = store._open()
    generation = client.generation
    # ... another process commits, and the chat turn's next call reopens the client and the store.
    commit(folder, 1)
    assert store._open() is not held
    assert client.generation == generation + 1
    # The held collection's client is closed now; the call goes to the new one instead.
    assert store._call(held, lambda c: c.count()) == 3
