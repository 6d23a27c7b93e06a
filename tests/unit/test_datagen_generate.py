"""GenerateData: total-count semantics, no overshoot under concurrency, no duplicates, clean stops."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from evotr.application.datagen import (
    CategorySpec,
    GenerateData,
    GenerationConfig,
    GeneratorSettings,
    SampleFileError,
    ValidationRules,
    plan_prompt,
    user_hash,
)
from evotr.application.errors import GenerationQuotaExhaustedError, GenerationRejectedError
from evotr.domain.generation import GenerationRequest, GenerationResult, GeneratorStats, TokenUsage
from evotr.infrastructure.memory.generator import InMemoryGenerator
from evotr.infrastructure.memory.sample_store import InMemorySampleStore

pytestmark = pytest.mark.unit

TOPICS = [f"konu {i}" for i in range(15)]
CHAT = CategorySpec("chat", "Talimat.", "{instruction} Konu: {topic}. Tohum: {seed}. {style}", TOPICS)
CODE = CategorySpec("code", "Kod yaz.", "{instruction} {topic} {seed}", TOPICS,
                    validation=ValidationRules(python_code=True))
CONFIG = GenerationConfig(GeneratorSettings(backend="memory", concurrency=4), {"chat": CHAT, "code": CODE})


def lines(store: InMemorySampleStore, category: str = "chat") -> list[dict[str, object]]:
    raw = b"".join(bytes(run) for _, run in sorted(store.runs.get(category, {}).items()))
    return [json.loads(line) for line in raw.decode("utf-8").splitlines()]


def user_hashes(store: InMemorySampleStore, category: str = "chat") -> list[str]:
    return [user_hash(row["messages"][0]["content"]) for row in lines(store, category)]  # type: ignore[index]


class ScriptedGenerator:
    """Answers from ``script(n)`` after a delay; tracks the most requests in flight at once."""

    def __init__(self, script: object = None, delay: float = 0.0) -> None:
        self.script = script or (lambda n: json.dumps({"user": f"Soru {n}", "assistant": f"Yanıt {n}"}))
        self.delay = delay
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.calls += 1
        n = self.calls
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay * (1 + n % 3))  # uneven, so answers finish out of order
            answer = self.script(n)  # type: ignore[operator]
            if isinstance(answer, BaseException):
                raise answer
            return GenerationResult(answer, TokenUsage(10, 5), request.model)
        finally:
            self.in_flight -= 1

    def stats(self) -> GeneratorStats:
        return GeneratorStats(requests=self.calls)


def test_count_is_the_category_total_across_runs() -> None:
    store, generator = InMemorySampleStore(), InMemoryGenerator()
    first = GenerateData(generator, store, CONFIG).execute("chat", 10)
    assert (first.existing, first.written, first.complete) == (0, 10, True)
    second = GenerateData(generator, store, CONFIG).execute("chat", 15)
    assert (second.existing, second.written, second.total_valid) == (10, 5, 15)
    assert len(store.runs["chat"]) == 2
    assert len(lines(store)) == 15
    assert len(set(user_hashes(store))) == 15
    # Asking for no more than there is sends nothing and writes nothing.
    third = GenerateData(generator, store, CONFIG).execute("chat", 12)
    assert (third.written, third.attempts, len(store.runs["chat"])) == (0, 0, 2)


def test_a_fresh_generator_repeating_old_samples_gets_them_rejected_as_duplicates() -> None:
    store = InMemorySampleStore()
    GenerateData(ScriptedGenerator(), store, CONFIG).execute("chat", 10)
    # A new generator numbers its answers from 1 again: its first 10 are duplicates.
    report = GenerateData(ScriptedGenerator(), store, CONFIG).execute("chat", 15, concurrency=1)
    assert report.rejects == {"duplicate": 10}
    assert len(lines(store)) == 15 and len(set(user_hashes(store))) == 15


@pytest.mark.parametrize("concurrency", [1, 3, 16, 64])
def test_concurrency_never_writes_more_than_count(concurrency: int) -> None:
    store, generator = InMemorySampleStore(), ScriptedGenerator(delay=0.001)
    report = GenerateData(generator, store, CONFIG).execute("chat", 7, concurrency=concurrency)
    assert len(lines(store)) == 7
    assert generator.calls == 7  # reservations: nothing is requested that could not be kept
    assert generator.max_in_flight <= min(concurrency, 7)
    assert (report.written, report.discarded) == (7, 0)


def test_rejects_are_counted_by_reason_and_replaced() -> None:
    def script(n: int) -> object:
        return {1: "yalnızca düz metin", 2: '{"user": "Soru"}', 3: '{"user": " ", "assistant": "x"}',
                4: GenerationRejectedError("400 INVALID_ARGUMENT", 400),
                5: json.dumps({"user": "Kod", "assistant": "```python\ndef f(:\n```"})}.get(
            n, json.dumps({"user": f"Soru {n}", "assistant": f"```python\nprint({n})\n```"}))

    store = InMemorySampleStore()
    report = GenerateData(ScriptedGenerator(script), store, CONFIG).execute("code", 6, concurrency=2)
    assert report.rejects == {"bad_json": 1, "missing_field": 1, "empty_turn": 1, "rejected_by_api": 1,
                              "python_syntax": 1}
    assert len(lines(store, "code")) == 6 and report.attempts == 11


def test_same_answer_forever_gives_up_without_duplicates() -> None:
    same = json.dumps({"user": "Aynı soru", "assistant": "Aynı yanıt"})
    store = InMemorySampleStore()
    report = GenerateData(ScriptedGenerator(lambda n: same), store, CONFIG).execute("chat", 3)
    assert report.gave_up and not report.complete
    assert len(lines(store)) == 1
    assert report.rejects["duplicate"] == report.attempts - 1


def test_quota_exhausted_stops_cleanly_and_a_rerun_resumes() -> None:
    resume = datetime(2030, 1, 2, 8, 0, tzinfo=UTC)

    def script(n: int) -> object:
        ok = json.dumps({"user": f"Soru {n}", "assistant": "Yanıt"})
        return ok if n <= 4 else GenerationQuotaExhaustedError("every key is out of quota", resume)

    store = InMemorySampleStore()
    report = GenerateData(ScriptedGenerator(script), store, CONFIG).execute("chat", 10, concurrency=1)
    assert report.stopped_by_quota and not report.complete
    assert (report.written, report.resume_at, report.stop_message) == (4, resume, "every key is out of quota")
    assert report.as_dict()["resume_at"] == "2030-01-02T08:00:00+00:00"
    assert len(lines(store)) == 4
    later = GenerateData(ScriptedGenerator(lambda n: json.dumps({"user": f"Yeni {n}", "assistant": "Y"})),
                         store, CONFIG).execute("chat", 10)
    assert (later.existing, later.written, later.complete) == (4, 6, True)
    assert len(lines(store)) == 10 and len(set(user_hashes(store))) == 10


def test_an_unexpected_error_stops_the_run_and_keeps_what_was_written() -> None:
    def script(n: int) -> object:
        return RuntimeError("disk on fire") if n == 3 else json.dumps({"user": f"S {n}", "assistant": "Y"})

    store = InMemorySampleStore()
    with pytest.raises(RuntimeError, match="disk on fire"):
        GenerateData(ScriptedGenerator(script), store, CONFIG).execute("chat", 10, concurrency=1)
    assert len(lines(store)) == 2
    assert store.open_run("chat", "next").repaired == 0  # the lock was released


def test_unfinished_last_line_is_cut_counted_and_never_counted_as_a_sample() -> None:
    store = InMemorySampleStore()
    GenerateData(InMemoryGenerator(), store, CONFIG).execute("chat", 3)
    (run,) = store.runs["chat"].values()
    run.extend(b'{"id": "x", "messages": [{"role": "user", "content": "yar')  # killed mid-write
    report = GenerateData(ScriptedGenerator(), store, CONFIG).execute("chat", 5)
    assert (report.existing, report.written, report.truncated_lines) == (3, 2, 1)
    assert all(bytes(r).endswith(b"\n") for r in store.runs["chat"].values())
    assert len(lines(store)) == 5


def test_a_malformed_stored_line_is_an_error_naming_its_place() -> None:
    store = InMemorySampleStore()
    GenerateData(InMemoryGenerator(), store, CONFIG).execute("chat", 2)
    (run_id, run), = store.runs["chat"].items()
    run[:0] = b"not json\n"
    with pytest.raises(SampleFileError, match=rf"memory:chat/{run_id}:1: not valid JSON"):
        GenerateData(InMemoryGenerator(), store, CONFIG).execute("chat", 5)


def test_sample_lines_have_the_documented_fields() -> None:
    store = InMemorySampleStore()
    clock = lambda: datetime(2025, 5, 1, 12, 0, tzinfo=UTC)  # noqa: E731
    report = GenerateData(ScriptedGenerator(), store, CONFIG, clock=clock).execute("chat", 1, run_id="r1")
    (row,) = lines(store)
    assert row == {"id": "r1-00001", "category": "chat", "topic": row["topic"],
                   "messages": [{"role": "user", "content": "Soru 1"},
                                {"role": "assistant", "content": "Yanıt 1"}],
                   "model": "gemma-3-27b-it", "created_at": "2025-05-01T12:00:00+00:00",
                   "usage": {"prompt_tokens": 10, "output_tokens": 5}}
    assert row["topic"] in TOPICS and report.location == "memory:chat/r1"


def test_prompts_visit_every_topic_once_per_round_and_vary_by_run() -> None:
    first_round = {plan_prompt(CHAT, n, "run")[0] for n in range(len(TOPICS))}
    assert first_round == set(TOPICS)
    topic, prompt = plan_prompt(CHAT, 3, "run")
    assert prompt.startswith("Talimat. Konu: " + topic)
    assert plan_prompt(CHAT, 3, "run") == (topic, prompt)
    assert plan_prompt(CHAT, 3, "other run")[1] != prompt
