"""kill -9 in the middle of `evotr data generate`, then the same command again: exactly N samples."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evotr.application.datagen import user_hash
from tests.fakes import FakeGeminiServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "resume-key-0123456789abcdef"
COUNT = 40


def code_responder(prompt: str, rng: random.Random) -> str:
    n = rng.randrange(10**12)
    sample = {"user": f"Sözlükte anahtar nasıl aranır? ({n})",
              "assistant": f"`in` kullan:\n```python\nd = {{'a': {n}}}\nprint('a' in d)\n```"}
    return "İşte:\n```json\n" + json.dumps(sample, ensure_ascii=False) + "\n```"


def run_files(home: Path) -> list[Path]:
    return sorted((home / "data" / "generated" / "python_code").glob("*.jsonl"))


def line_count(home: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in run_files(home))


def command(home: Path) -> list[str]:
    return [sys.executable, "-m", "evotr", "--home", str(home), "data", "generate",
            "--category", "python_code", "--count", str(COUNT), "--backend", "gemma",
            "--concurrency", "4", "--rpm", "6000", "--tpm", "10000000"]


def test_sigkill_mid_run_then_rerun_gives_exactly_count(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with FakeGeminiServer(keys=[KEY], rpm=6000, tpm=10_000_000, responder=code_responder,
                          latency_s=0.25) as server:
        env = dict(os.environ, GOOGLE_API_KEY=KEY, EVOTR_GENAI_BASE_URL=server.base_url, HF_HUB_OFFLINE="1")
        first = subprocess.Popen(command(home), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while line_count(home) < 8:
            assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
            assert time.monotonic() < deadline, "the first run wrote nothing in time"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        killed_at = line_count(home)
        assert 8 <= killed_at < COUNT  # really stopped part-way
        # What a kill during a write leaves behind: a line without its end.
        (killed_run,) = run_files(home)
        with killed_run.open("ab") as handle:
            handle.write('{"id": "torn", "messages": [{"role": "user", "content": "yarım kal'.encode())

        second = subprocess.run([*command(home), "--json"], cwd=tmp_path, env=env, capture_output=True,
                                timeout=120)
        assert second.returncode == 0, second.stderr.decode()
    report = json.loads(second.stdout)["report"]
    assert (report["existing"], report["truncated_lines"]) == (killed_at, 1)
    assert report["written"] == COUNT - killed_at

    files = run_files(home)
    assert len(files) == 2
    rows = []
    for path in files:
        raw = path.read_bytes()
        assert raw.endswith(b"\n")
        rows += [json.loads(line) for line in raw.decode("utf-8").splitlines()]  # every line is JSON
    assert len(rows) == COUNT
    assert len({user_hash(r["messages"][0]["content"]) for r in rows}) == COUNT
    assert len({r["id"] for r in rows}) == COUNT
    assert all(r["category"] == "python_code" and "```python" in r["messages"][1]["content"] for r in rows)
