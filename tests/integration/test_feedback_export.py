"""`evotr feedback export --format sft|dpo|kto`: rows in the shapes mlx-lm and TRL read, from the
messages each turn was really sent; the SFT file trains with stock `python -m mlx_lm lora`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evotr.container import build_container
from evotr.domain.conversation import Message, Role
from evotr.domain.feedback import Feedback, FeedbackKind
from evotr.domain.intents import Intent
from evotr.domain.turns import TurnId, TurnRecord
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from evotr.infrastructure.sqlite.feedback_repository import SqliteFeedbackRepository

pytestmark = pytest.mark.integration

SYSTEM = Message(Role.SYSTEM, "Sen EVO-TR'sin.")
EARLIER = (Message(Role.USER, "Merhaba"), Message(Role.ASSISTANT, "Merhaba! Nasıl yardımcı olabilirim?"))


def _messages(rows: list[dict[str, Any]], key: str) -> None:
    for row in rows:
        assert isinstance(row[key], list) and row[key]
        for message in row[key]:
            assert set(message) == {"role", "content"} and message["role"] in {"system", "user", "assistant"}
            assert isinstance(message["content"], str) and message["content"]


def check_trl_shape(fmt: str, rows: list[dict[str, Any]]) -> None:
    """TRL's conversational dataset types, checked key by key (no `datasets` needed)."""
    keys = {"sft": {"messages"}, "dpo": {"prompt", "chosen", "rejected"},
            "kto": {"prompt", "completion", "label"}}[fmt]
    for row in rows:
        assert set(row) == keys
    if fmt == "sft":
        _messages(rows, "messages")
        assert all(r["messages"][-1]["role"] == "assistant" for r in rows)
        return
    _messages(rows, "prompt")
    assert all(r["prompt"][-1]["role"] == "user" for r in rows)  # the completion answers it
    for key in keys - {"prompt", "label"}:
        _messages(rows, key)
        assert all([m["role"] for m in r[key]] == ["assistant"] for r in rows)
    if fmt == "kto":
        assert all(isinstance(r["label"], bool) for r in rows)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    build_container(home=home, env={}).use_cases.init_home().execute()
    return home


def judged(repo: SqliteFeedbackRepository, prompt: str, reply: str, kind: str, correction: str | None = None,
           intent: Intent = Intent.HISTORY, with_history: bool = True) -> TurnId:
    sent = (SYSTEM, *(EARLIER if with_history else ()), Message(Role.USER, prompt))
    turn = repo.add_turn(TurnRecord(prompt, reply, intent, 0.9, messages=sent))
    repo.add_feedback(Feedback(turn, kind, correction))
    return turn


@pytest.fixture
def filled(home: Path) -> dict[str, TurnId]:
    repo = SqliteFeedbackRepository(home / "evotr.db")
    turns = {
        "corrected": judged(repo, "Osmanlı ne zaman kuruldu?", "1453'te.", "correction", "1299'da kuruldu."),
        "same": judged(repo, "Başkent neresi?", "Ankara.", "correction", "Ankara."),
        "good": judged(repo, "İstanbul'un fethi?", "1453'te.", "thumbs_up"),
        "bad": judged(repo, "Lale Devri ne zaman?", "1900'de.", "thumbs_down", with_history=False),
        "code": judged(repo, "Liste nasıl sıralanır?", "Bilmem.", "correction", "sorted(x) kullan.",
                       Intent.CODE_PYTHON),
    }
    # A later 👍 replaces a correction: the turn is exported as 👍 only.
    changed = judged(repo, "Fatih kimdir?", "Bir padişah.", "correction", "II. Mehmed.")
    repo.add_feedback(Feedback(changed, FeedbackKind.THUMBS_UP))
    turns["changed"] = changed
    return turns


def export(home: Path, fmt: str, out: Path, *extra: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(main, ["--home", str(home), "feedback", "export", "--format", fmt,
                                       "--out", str(out), *extra])
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()] if out.exists() else []
    return result.exit_code, rows, result.output + result.stderr


def test_sft_rows_are_the_sent_messages_then_the_correction(home: Path, filled: dict[str, TurnId],
                                                           tmp_path: Path) -> None:
    code, rows, output = export(home, "sft", tmp_path / "sft.jsonl")
    assert code == 0 and "wrote 3 sft rows" in output, output
    check_trl_shape("sft", rows)
    assert rows[0] == {"messages": [SYSTEM.as_dict(), *(m.as_dict() for m in EARLIER),
                                    {"role": "user", "content": "Osmanlı ne zaman kuruldu?"},
                                    {"role": "assistant", "content": "1299'da kuruldu."}]}
    answers = [r["messages"][-1]["content"] for r in rows]
    assert answers == ["1299'da kuruldu.", "Ankara.", "sorted(x) kullan."]


def test_dpo_rows_pair_the_correction_over_the_reply(home: Path, filled: dict[str, TurnId],
                                                     tmp_path: Path) -> None:
    code, rows, _ = export(home, "dpo", tmp_path / "dpo.jsonl")
    assert code == 0
    check_trl_shape("dpo", rows)
    # "Ankara." corrected to itself teaches no preference; the changed verdict is no correction.
    assert [(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in rows] == [
        ("1299'da kuruldu.", "1453'te."), ("sorted(x) kullan.", "Bilmem.")]
    assert rows[0]["prompt"] == [SYSTEM.as_dict(), *(m.as_dict() for m in EARLIER),
                                 {"role": "user", "content": "Osmanlı ne zaman kuruldu?"}]


def test_kto_rows_label_every_judged_answer(home: Path, filled: dict[str, TurnId], tmp_path: Path) -> None:
    code, rows, _ = export(home, "kto", tmp_path / "kto.jsonl")
    assert code == 0
    check_trl_shape("kto", rows)
    labelled = [(r["prompt"][-1]["content"], r["completion"][0]["content"], r["label"]) for r in rows]
    assert labelled == [
        ("Osmanlı ne zaman kuruldu?", "1299'da kuruldu.", True),
        ("Osmanlı ne zaman kuruldu?", "1453'te.", False),
        ("Başkent neresi?", "Ankara.", True), ("Başkent neresi?", "Ankara.", False),
        ("İstanbul'un fethi?", "1453'te.", True), ("Lale Devri ne zaman?", "1900'de.", False),
        ("Liste nasıl sıralanır?", "sorted(x) kullan.", True), ("Liste nasıl sıralanır?", "Bilmem.", False),
        ("Fatih kimdir?", "Bir padişah.", True),
    ]
    assert rows[5]["prompt"] == [SYSTEM.as_dict(), {"role": "user", "content": "Lale Devri ne zaman?"}]


def test_family_keeps_the_answers_that_family_serves(home: Path, filled: dict[str, TurnId],
                                                     tmp_path: Path) -> None:
    code, rows, _ = export(home, "sft", tmp_path / "py.jsonl", "--family", "python_coder")
    assert code == 0 and [r["messages"][-1]["content"] for r in rows] == ["sorted(x) kullan."]
    code, _, output = export(home, "sft", tmp_path / "x.jsonl", "--family", "nope")
    assert code == 1 and "python_coder" in output and not (tmp_path / "x.jsonl").exists()


def test_nothing_to_export_is_refused_and_an_earlier_file_is_kept(home: Path, tmp_path: Path) -> None:
    repo = SqliteFeedbackRepository(home / "evotr.db")
    judged(repo, "Selam", "Merhaba", "thumbs_up")
    out = tmp_path / "sft.jsonl"
    out.write_text("earlier\n", "utf-8")
    result = CliRunner().invoke(main, ["--home", str(home), "feedback", "export", "--format", "sft",
                                       "--out", str(out)])
    assert result.exit_code == 1 and "nothing to export as sft" in result.stderr
    assert result.stderr.count("\n") == 1 and out.read_text("utf-8") == "earlier\n"


def test_an_output_in_a_missing_folder_is_one_line(home: Path, filled: dict[str, TurnId],
                                                   tmp_path: Path) -> None:
    code, _, output = export(home, "kto", tmp_path / "missing" / "kto.jsonl")
    assert code == 1 and "does not exist" in output and not (tmp_path / "missing").exists()


@pytest.mark.slow
def test_the_sft_export_trains_with_stock_mlx_lm_lora(home: Path, filled: dict[str, TurnId],
                                                      tmp_path: Path) -> None:
    tiny = ensure_tiny_model(tmp_path / "tiny")
    data = tmp_path / "data"
    data.mkdir()
    assert export(home, "sft", data / "train.jsonl")[0] == 0
    assert export(home, "sft", data / "valid.jsonl")[0] == 0
    out = subprocess.run(
        [sys.executable, "-m", "mlx_lm", "lora", "--model", str(tiny), "--train", "--data", str(data),
         "--iters", "2", "--batch-size", "1", "--num-layers", "2", "--steps-per-eval", "2",
         "--val-batches", "1", "--adapter-path", str(tmp_path / "adapter")],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "adapter" / "adapters.safetensors").is_file()
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text("utf-8"))
    assert config["iters"] == 2 and Path(config["data"]) == data
