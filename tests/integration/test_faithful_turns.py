"""Faithful turns: every stored turn keeps the messages the model was sent and the sampling used.

A database written by the first schema (no such columns) is migrated in place and its turns
read back as the prompt alone; a chat turn records the trimmed history it really sent.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from evotr.application.chat import ChatSession, ChatTurn
from evotr.container import Container, build_container
from evotr.domain.conversation import ContextBudget, Message, Role
from evotr.domain.feedback import Feedback, FeedbackKind
from evotr.domain.intents import Intent
from evotr.domain.sampling import SamplingParams
from evotr.domain.turns import TurnRecord
from evotr.infrastructure.sqlite.errors import SqliteStorageError
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository
from evotr.infrastructure.sqlite.migrations import LATEST_VERSION

pytestmark = pytest.mark.integration

OLD_TURN = "a" * 32
# The schema as release 1 wrote it, spelled out: the test must not follow later edits.
SCHEMA_V1 = [
    """CREATE TABLE turns (
        id TEXT PRIMARY KEY CHECK (length(id) = 32 AND id NOT GLOB '*[^0-9a-f]*'),
        session_id TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL,
        prompt TEXT NOT NULL, reply TEXT NOT NULL, intent TEXT NOT NULL, confidence REAL NOT NULL,
        fallback INTEGER NOT NULL CHECK (fallback IN (0, 1)), adapter TEXT NULL,
        timings_json TEXT NOT NULL DEFAULT '{}')""",
    "CREATE INDEX turns_created_at ON turns (created_at)",
    "CREATE INDEX turns_session_created_at ON turns (session_id, created_at)",
    """CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT, turn_id TEXT NOT NULL REFERENCES turns (id),
        kind TEXT NOT NULL CHECK (kind IN ('thumbs_up', 'thumbs_down', 'correction')),
        correction TEXT, source TEXT, created_at TEXT)""",
    "CREATE INDEX feedback_turn_id ON feedback (turn_id)",
    "CREATE INDEX feedback_kind_created_at ON feedback (kind, created_at)",
    "CREATE INDEX feedback_created_at ON feedback (created_at)",
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    "INSERT INTO schema_version VALUES (1, '2024-01-01T00:00:00+00:00')",
]


def write_v1_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        for statement in SCHEMA_V1:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO turns VALUES (?, 'old', 'cli', '2024-01-01T10:00:00.000000+00:00', "
            "'Osmanlı tarihi anlat', 'Bilmiyorum.', 'history', 0.9, 0, 'tr_chat_v1', '{}')", (OLD_TURN,))
        conn.execute("INSERT INTO feedback (turn_id, kind, correction, source, created_at) VALUES "
                     "(?, 'correction', '1299da kuruldu.', 'cli', '2024-01-01T10:01:00.000000+00:00')",
                     (OLD_TURN,))
        conn.commit()
    finally:
        conn.close()


def test_a_first_schema_database_is_migrated_and_its_rows_stay_readable(tmp_path: Path) -> None:
    path = tmp_path / "evotr.db"
    write_v1_database(path)
    repo = SqliteFeedbackRepository(path)
    turn = repo.get_turn(OLD_TURN)  # type: ignore[arg-type]
    assert turn is not None and turn.reply == "Bilmiyorum." and str(turn.adapter) == "tr_chat_v1"
    assert turn.messages == () and turn.sampling is None
    assert turn.sent_messages == (Message(Role.USER, "Osmanlı tarihi anlat"),)
    (example,) = repo.judged_turns()
    assert example.messages == (Message(Role.USER, "Osmanlı tarihi anlat"),)
    assert (example.kind, example.correction) == (FeedbackKind.CORRECTION, "1299da kuruldu.")
    (old_feedback,) = repo.list_feedback()
    assert old_feedback.intent is None
    repo.close()
    conn = sqlite3.connect(path)
    try:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        columns = {row[1] for row in conn.execute("PRAGMA table_info(turns)")}
    finally:
        conn.close()
    assert versions == list(range(1, LATEST_VERSION + 1))
    assert {"messages_json", "sampling_json"} <= columns


def test_messages_and_sampling_round_trip_beside_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "evotr.db"
    write_v1_database(path)
    repo = SqliteFeedbackRepository(path)
    sent = (Message(Role.SYSTEM, "Sen EVO-TR'sin."), Message(Role.USER, "Selam"),
            Message(Role.ASSISTANT, "Merhaba!"), Message(Role.USER, "Adım Kaan"))
    sampling = SamplingParams(temperature=0.2, top_p=0.8, max_tokens=64, seed=7)
    new = TurnRecord("Adım Kaan", "Memnun oldum Kaan.", Intent.GENERAL_CHAT, 0.8, messages=sent,
                     sampling=sampling)
    repo.add_turn(new)
    repo.close()
    again = SqliteFeedbackRepository(path).get_turn(new.id)
    assert again is not None
    assert again.messages == sent and again.sent_messages == sent and again.sampling == sampling
    assert [t.id for t in SqliteFeedbackRepository(path).recent_turns()] == [new.id, OLD_TURN]


def test_a_damaged_messages_column_is_one_error_naming_the_turn(tmp_path: Path) -> None:
    path = tmp_path / "evotr.db"
    repo = SqliteFeedbackRepository(path)
    turn = TurnRecord("Selam", "Merhaba", Intent.GENERAL_CHAT, 0.9,
                      messages=(Message(Role.USER, "Selam"),))
    repo.add_turn(turn)
    repo.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE turns SET messages_json = '[{\"role\": \"nobody\"}]'")
    conn.commit()
    conn.close()
    with pytest.raises(SqliteStorageError) as caught:
        SqliteFeedbackRepository(path).get_turn(turn.id)
    assert turn.id in str(caught.value) and str(path) in str(caught.value)


def test_messages_must_end_with_the_prompt() -> None:
    from evotr.domain.errors import DomainValidationError

    with pytest.raises(DomainValidationError, match="must end with the user's message"):
        TurnRecord("Selam", "Merhaba", Intent.GENERAL_CHAT, 0.9,
                   messages=(Message(Role.USER, "başka bir şey"),))


@pytest.fixture
def container(tmp_path: Path) -> Container:
    built = build_container(home=tmp_path / "home", env={})
    for port in ("llm", "classifier", "vector_store"):
        getattr(built.config.backends, port).override("memory")
    built.use_cases.init_home().execute()
    return built


def test_a_chat_turn_records_the_trimmed_messages_it_sent_and_its_sampling(container: Container) -> None:
    settings = container.settings()
    llm = container.models.llm()
    repository = container.storage.feedback_repository()
    # Room for the system prompt and about one exchange: older turns must be trimmed away.
    persona = "Sen EVO-TR'sin."
    budget = ContextBudget(max_tokens=len(persona.split()) + 12)
    turn = ChatTurn(container.use_cases.route_message(), settings.intents, container.storage.adapter_store(),
                    llm, repository, budget, persona, settings.sampling)
    session = ChatSession()
    said = ["bir iki üç", "dört beş altı", "yedi sekiz"]
    for text in said:
        *_, reply = turn.execute(session, text)
    stored = repository.get_turn(reply.turn_id)  # type: ignore[union-attr]
    assert stored is not None and stored.sampling == settings.sampling
    sent = llm.calls[-1][0]
    assert stored.messages == sent
    assert stored.messages[0] == Message(Role.SYSTEM, persona)
    assert stored.messages[-1] == Message(Role.USER, "yedi sekiz")
    assert Message(Role.USER, "bir iki üç") not in stored.messages  # dropped by the budget
    assert reply.dropped_turns >= 1  # type: ignore[union-attr]
    # The first turn of the session was sent the system prompt and its message only.
    first = repository.recent_turns(limit=3)[-1]
    assert first.messages == (Message(Role.SYSTEM, persona), Message(Role.USER, "bir iki üç"))


def test_judged_turns_carry_the_recorded_messages(container: Container) -> None:
    repository = container.storage.feedback_repository()
    assistant = container.use_cases.assistant(source="cli")
    assistant.chat("Merhaba")
    second = assistant.chat("Osmanlı tarihi anlat")
    assistant.feedback(None, ("correction", "Osmanlı Devleti 1299'da kuruldu."))
    repository.add_feedback(Feedback(second.turn_id, FeedbackKind.THUMBS_UP))
    (example,) = repository.judged_turns()
    assert example.kind is FeedbackKind.THUMBS_UP  # the later verdict replaced the correction
    assert [m.role for m in example.messages] == [Role.SYSTEM, Role.USER, Role.ASSISTANT, Role.USER]
    assert example.messages[1].content == "Merhaba" and example.prompt == "Osmanlı tarihi anlat"
