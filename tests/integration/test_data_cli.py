"""`evotr data generate|stats` through Click on the JSONL store: memory, gemma (fake server), mlx."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.application.datagen import user_hash
from evotr.domain.conversation import Message
from evotr.domain.generation import GenerationRequest
from evotr.domain.sampling import SamplingParams
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.memory.llm_backend import InMemoryLLMBackend
from evotr.infrastructure.mlx.local_generator import LocalMlxGenerator
from tests.cli_homes import code_responder, memory_llm_home
from tests.fakes import FakeGeminiServer

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
KEY = "test-key-0123456789abcdef"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return memory_llm_home(tmp_path / "home")


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), "data", *args])
    return result.exit_code, result.stdout, result.stderr


def rows(home: Path, category: str) -> list[dict[str, object]]:
    found = []
    for path in sorted((home / "data" / "generated" / category).glob("*.jsonl")):
        found += [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return found


def distinct_users(found: Sequence[dict[str, object]]) -> set[str]:
    return {user_hash(r["messages"][0]["content"]) for r in found}  # type: ignore[index]


def test_memory_backend_fills_the_category_then_a_rerun_adds_nothing(home: Path) -> None:
    code, out, _ = run(home, "generate", "--category", "turkish_chat", "--count", "12", "--backend", "memory")
    assert code == 0, out
    assert len(rows(home, "turkish_chat")) == 12 and "12 / 12" in out
    code, _, _ = run(home, "generate", "--category", "turkish_chat", "--count", "12", "--backend", "memory")
    assert code == 0
    assert len(list((home / "data" / "generated" / "turkish_chat").glob("*.jsonl"))) == 1
    code, out, _ = run(home, "stats", "--json")
    stats = {s["category"]: s for s in json.loads(out)}
    assert code == 0 and stats["turkish_chat"]["valid"] == 12 and stats["turkish_chat"]["runs"] == 1
    assert stats["python_code"]["valid"] == 0 and stats["python_code"]["configured"] is True


def test_unknown_category_and_missing_key_are_one_line_errors(home: Path) -> None:
    code, _, err = run(home, "generate", "--category", "cooking", "--count", "3", "--backend", "memory")
    assert code == 1 and "unknown category 'cooking'" in err and "python_code" in err
    code, _, err = run(home, "generate", "--category", "science", "--count", "3", "--backend", "gemma")
    assert code == 1 and "no Gemini API key" in err
    assert not (home / "data" / "generated" / "science").exists()


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(keys=[KEY], rpm=600, tpm=60_000, responder=code_responder) as server:
        monkeypatch.setenv("GOOGLE_API_KEY", KEY)
        monkeypatch.setenv("EVOTR_GENAI_BASE_URL", server.base_url)
        yield server


def test_gemma_against_the_fake_writes_exactly_count_and_stays_under_its_limits(
    home: Path, gemini: FakeGeminiServer
) -> None:
    code, out, err = run(home, "generate", "--category", "python_code", "--count", "50", "--backend",
                         "gemma", "--rpm", "600", "--tpm", "60000", "--concurrency", "8", "--json")
    assert code == 0, err
    found = rows(home, "python_code")
    assert len(found) == 50 and len(distinct_users(found)) == 50
    assert gemini.check_limits() == []
    assert [r for r in gemini.records if r.status != 200] == []  # never refused: never over a limit
    assert not any(r.system_instruction for r in gemini.records)
    summary = json.loads(out)
    assert summary["report"]["written"] == 50 and summary["generator"]["requests"] == 50
    assert KEY not in out + err


def test_exhausted_daily_quota_stops_with_exit_3_and_a_rerun_resumes(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeGeminiServer(keys=[KEY], rpm=600, tpm=60_000, rpd=3, responder=code_responder) as server:
        monkeypatch.setenv("GOOGLE_API_KEY", KEY)
        monkeypatch.setenv("EVOTR_GENAI_BASE_URL", server.base_url)
        code, _, err = run(home, "generate", "--category", "python_code", "--count", "5", "--backend",
                           "gemma", "--concurrency", "1")
        assert code == 3, err
        assert "quota exhausted" in err and "Run the same command" in err
        assert len(rows(home, "python_code")) == 3
        server.reset_day()
        code, _, err = run(home, "generate", "--category", "python_code", "--count", "5",
                           "--backend", "gemma")
        assert code == 0, err
    found = rows(home, "python_code")
    assert len(found) == 5 and len(distinct_users(found)) == 5


class _SlowEcho(InMemoryLLMBackend):
    """Answers a JSON sample per call and records how many calls overlap."""

    def __init__(self) -> None:
        super().__init__("local-test")
        self.active = self.peak = self.count = 0
        self._guard = threading.Lock()

    def generate(self, messages: Sequence[Message], params: SamplingParams, adapter: object = None) -> str:
        with self._guard:
            self.active += 1
            self.count += 1
            self.peak = max(self.peak, self.active)
            n = self.count
        time.sleep(0.01)
        with self._guard:
            self.active -= 1
        return json.dumps({"user": f"Yerel soru {n} kaç kelime?", "assistant": "Yerel yanıt."})


def test_local_generator_runs_one_call_at_a_time_and_counts_tokens() -> None:
    llm = _SlowEcho()
    generator = LocalMlxGenerator(llm)

    async def many() -> list[object]:
        request = GenerationRequest("Bir örnek üret.", "ignored", 0.7, 64)
        return list(await asyncio.gather(*(generator.generate(request) for _ in range(6))))

    results = asyncio.run(many())
    assert llm.peak == 1 and llm.count == 6
    stats = generator.stats()
    prompt_tokens = llm.count_tokens([Message("user", "Bir örnek üret.")])
    assert stats.requests == 6 and stats.prompt_tokens == 6 * prompt_tokens
    assert stats.output_tokens > 0 and all(r.model == "local-test" for r in results)  # type: ignore[attr-defined]


def test_jsonl_store_locks_a_category_and_repairs_last_lines(tmp_path: Path) -> None:
    from evotr.infrastructure.datasets.jsonl_store import JsonlSampleStore, SampleStoreError

    store = JsonlSampleStore(tmp_path / "data")
    folder = tmp_path / "data" / "generated" / "chat"
    folder.mkdir(parents=True)
    whole = b'{"id": "a", "messages": []}\n{"id": "b", "messages": []}'  # only the newline is missing
    torn = b'{"id": "c", "messages": []}\n{"id": "d", "mess'
    (folder / "r1.jsonl").write_bytes(whole)
    (folder / "r2.jsonl").write_bytes(torn)
    assert [len(store.scan("chat").records), len(store.scan("chat").truncated)] == [3, 1]
    writer = store.open_run("chat", "r3")
    assert writer.repaired == 1
    assert (folder / "r1.jsonl").read_bytes() == whole + b"\n"
    assert (folder / "r2.jsonl").read_bytes() == b'{"id": "c", "messages": []}\n'
    assert not (folder / "r3.jsonl").exists()  # created by the first append only
    with pytest.raises(SampleStoreError, match="another `evotr data generate` is writing category 'chat'"):
        store.open_run("chat", "r4")
    writer.append({"id": "e", "text": "Çağrı"})
    writer.close()
    assert (folder / "r3.jsonl").read_text("utf-8") == '{"id": "e", "text": "Çağrı"}\n'
    store.open_run("chat", "r4").close()  # the lock is free again
    with pytest.raises(SampleStoreError, match="category"):
        store.open_run("../etc", "r5")


def test_rpd_flag_caps_requests_per_day_on_the_client_side(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server would allow far more; --rpd 3 alone must stop the run after three requests.
    with FakeGeminiServer(keys=[KEY], rpm=600, tpm=60_000, rpd=1_000, responder=code_responder) as server:
        monkeypatch.setenv("GOOGLE_API_KEY", KEY)
        monkeypatch.setenv("EVOTR_GENAI_BASE_URL", server.base_url)
        code, _, err = run(home, "generate", "--category", "python_code", "--count", "5", "--backend",
                           "gemma", "--rpd", "3", "--concurrency", "1")
        records = server.records
    assert code == 3, err
    assert len(records) == 3 and all(r.status == 200 for r in records)
    assert len(rows(home, "python_code")) == 3
