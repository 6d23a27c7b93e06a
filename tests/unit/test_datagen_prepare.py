"""PrepareData and DataStats on the in-memory store; the deterministic split; generation.yaml loading."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from evotr.application.datagen import DatasetError, DataStats, PrepareData, SampleFileError, split_ids
from evotr.domain.conversation import Message
from evotr.infrastructure.config.errors import ConfigError
from evotr.infrastructure.config.generation import load_generation_config
from evotr.infrastructure.memory.sample_store import InMemorySampleStore

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def words(messages: Sequence[Message]) -> int:
    return sum(len(m.content.split()) for m in messages)


def record(n: int, user: str | None = None, assistant: str = "kısa yanıt") -> bytes:
    row = {"id": f"r-{n:05d}", "category": "chat", "topic": "t",
           "messages": [{"role": "user", "content": user or f"Soru numarası {n}"},
                        {"role": "assistant", "content": assistant}]}
    return (json.dumps(row, ensure_ascii=False) + "\n").encode()


def store_with(*runs: bytes) -> InMemorySampleStore:
    store = InMemorySampleStore()
    store.runs["chat"] = {f"run{i}": bytearray(raw) for i, raw in enumerate(runs)}
    return store


def test_split_is_deterministic_stable_and_near_the_ratio() -> None:
    ids = [f"20250101T000000Z-abc123-{n:05d}" for n in range(2000)]
    train, valid = split_ids(ids, 0.1)
    assert split_ids(list(reversed(ids)), 0.1) == (list(reversed(train)), list(reversed(valid)))
    assert 0.08 <= len(valid) / len(ids) <= 0.12
    # More samples later never move an earlier one to the other side.
    train2, valid2 = split_ids(ids + [f"later-{n}" for n in range(500)], 0.1)
    assert set(valid) <= set(valid2) and set(train) <= set(train2)


def test_small_sets_still_get_a_valid_and_a_train_example() -> None:
    train, valid = split_ids(["a", "b"], 0.1)
    assert len(train) == 1 and len(valid) == 1
    assert split_ids(["a", "b"], 0.1) == (train, valid)
    assert split_ids(["only"], 0.1) == (["only"], [])


def test_prepare_dedups_drops_too_long_and_adds_the_system_prompt() -> None:
    long_answer = " ".join(["kelime"] * 50)
    store = store_with(
        b"".join(record(n) for n in range(1, 21)),
        record(21, user="soru numarası 1!") + record(22, assistant=long_answer),
    )
    report = PrepareData(store, words).execute("chat", "chat_v1", max_seq_length=20,
                                               system_prompt="Sen EVO-TR'sin.")
    assert (report.duplicates, report.dropped_too_long, report.train + report.valid) == (1, 1, 20)
    assert report.valid >= 1 and report.location == "memory:training/chat_v1"
    rows = store.datasets["chat_v1"]["train"] + store.datasets["chat_v1"]["valid"]
    assert len(rows) == 20
    assert all([m["role"] for m in r["messages"]] == ["system", "user", "assistant"] for r in rows)
    assert rows[0]["messages"][0]["content"] == "Sen EVO-TR'sin."
    again = PrepareData(store, words).execute("chat", "chat_v1", max_seq_length=20, system_prompt=None)
    assert (again.train, again.valid) == (report.train, report.valid)
    assert all(len(r["messages"]) == 2 for r in store.datasets["chat_v1"]["train"])


def test_prepare_errors_name_the_problem() -> None:
    with pytest.raises(DatasetError, match="no samples"):
        PrepareData(InMemorySampleStore(), words).execute("chat", "x")
    store = store_with(record(1) + b'{"id": "r-2", "messages": []}\n')
    with pytest.raises(SampleFileError, match="memory:chat/run0:2: expected \"messages\""):
        PrepareData(store, words).execute("chat", "x")
    with pytest.raises(DatasetError, match="dataset name"):
        PrepareData(store_with(record(1)), words).execute("chat", "../escape")
    with pytest.raises(DatasetError, match="longer than max_seq_length=1"):
        PrepareData(store_with(record(1)), words).execute("chat", "x", max_seq_length=1)


def test_unfinished_last_line_is_skipped_and_counted() -> None:
    store = store_with(record(1) + record(2) + b'{"id": "r-3", "mess')
    report = PrepareData(store, words).execute("chat", "x")
    assert (report.train + report.valid, report.truncated_lines) == (2, 1)


def test_stats_count_samples_runs_and_bad_lines_without_raising() -> None:
    store = store_with(record(1) + record(2), record(3, user="Soru numarası 1") + b"oops\n" + b'{"id": "z')
    (chat, code) = DataStats(store, ["chat", "code"]).execute()
    counts = (chat.valid, chat.duplicates, chat.runs, chat.malformed_lines, chat.truncated_lines)
    assert counts == (2, 1, 2, 1, 1)
    assert (code.category, code.valid, code.runs, code.configured) == ("code", 0, 0, True)


def test_generation_backends_are_the_container_choices() -> None:
    from evotr.application.datagen import GENERATOR_BACKENDS
    from evotr.application.settings import BACKEND_CHOICES

    assert sorted(GENERATOR_BACKENDS) == sorted(BACKEND_CHOICES["generator"])


def test_shipped_generation_config_has_the_five_categories() -> None:
    config = load_generation_config(REPO / "configs" / "generation.yaml")
    assert {"turkish_chat", "python_code", "history", "science", "turkish_culture"} <= set(config.categories)
    assert all(len(c.topics) >= 15 for c in config.categories.values())
    assert config.category("python_code").validation.python_code
    generator = config.generator
    assert (generator.backend, generator.model, generator.rpm) == ("gemma", "gemma-3-27b-it", 30)


@pytest.mark.parametrize(("edit", "expected"), [
    (("  rpm: 30 ", "  rpmm: 30 "), r"generation.yaml:\d+: generator.rpmm: unknown key"),
    (("  backend: gemma ", "  backend: openai "),
     r"generator.backend: 'openai' is not one of: gemma, mlx, memory"),
    (("      {instruction}\n      Konu: {topic}\n", "      Konu: {topic}\n"),
     r"generation.yaml:\d+: categories.turkish_chat.prompt_template: must contain \{instruction\}"),
    (("      python_code: false\n", "      python_kod: false\n"), r"validation.python_kod: unknown key"),
    (("  rpm: 30 ", "  rpm: 0 "), r"generator.rpm: must be a whole number >= 1"),
])
def test_generation_config_errors_name_file_line_and_key(
    tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    text = (REPO / "configs" / "generation.yaml").read_text("utf-8")
    assert edit[0] in text
    (tmp_path / "generation.yaml").write_text(text.replace(edit[0], edit[1], 1), "utf-8")
    with pytest.raises(ConfigError, match=expected):
        load_generation_config(tmp_path / "generation.yaml")
