"""GemmaGenerators on one request log file, with the real google-genai SDK and the loopback fake.

A restarted generator is a new instance on the same file; it must not get a fresh RPM burst (the
fake would answer 429 if it did). A dead endpoint must not use up any budget either.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from evotr.domain.generation import GenerationRequest
from evotr.infrastructure.gemma import ApiKey, Budget, EndpointUnreachableError, GemmaGenerator
from evotr.infrastructure.gemma.failures import RequestLogError
from evotr.infrastructure.gemma.request_log import FILE_NAME, SqliteRequestLog
from tests.fakes import FakeGeminiServer

pytestmark = pytest.mark.integration

MODEL = "gemma-3-27b-it"
SECRET = "AIzaSy-shared-budget-secret-0042"
KEY = ApiKey("GOOGLE_API_KEY", SECRET)


def ask() -> GenerationRequest:
    return GenerationRequest(prompt="Bir Python sorusu üret.", model=MODEL, temperature=0.7,
                             max_output_tokens=32)


def generator(path: Path, base_url: str, **options: object) -> GemmaGenerator:
    log = SqliteRequestLog(path, scope=MODEL)
    return GemmaGenerator([KEY], budget=Budget(rpm=3, tpm=100_000, rpd=100), base_url=base_url, log=log,
                          **options)  # type: ignore[arg-type]


def test_a_new_generator_on_the_same_log_waits_for_the_window_instead_of_bursting(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    with FakeGeminiServer(keys=[SECRET], rpm=3, tpm=100_000) as server:

        async def first_run() -> None:
            async with generator(path, server.base_url) as gen:
                for _ in range(3):
                    await gen.generate(ask())

        async def restarted_run() -> bool:
            async with generator(path, server.base_url) as gen:
                try:
                    await asyncio.wait_for(gen.generate(ask()), timeout=2.0)
                except TimeoutError:
                    return False  # still waiting for the first run's requests to leave the window
                return True

        asyncio.run(first_run())
        sent = asyncio.run(restarted_run())
        records = server.records
    assert not sent
    assert len(records) == 3 and all(r.status == 200 for r in records)  # no 429: never over the limit


def test_a_dead_endpoint_uses_up_no_budget(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # closed again: nothing listens

    async def scenario() -> EndpointUnreachableError:
        async with generator(tmp_path / FILE_NAME, url, max_retries=4, backoff_s=0.01) as gen:
            with pytest.raises(EndpointUnreachableError) as caught:
                await gen.generate(ask())
            assert gen.pool.usage(KEY).today == 0 and gen.stats().server_errors == 5
            return caught.value

    error = asyncio.run(scenario())
    assert error.tries == 5 and url in str(error) and "Connect" in str(error)
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone() == (0,)


def _open_and_log(path: str, start: Any, results: Any) -> None:
    start.wait()
    try:
        log = SqliteRequestLog(Path(path), scope="gemma-3-27b-it")
        with log.transaction():
            log.add("key", 1)
        results.put("ok")
    except RequestLogError as exc:
        results.put(str(exc))


def test_generators_opening_a_new_request_log_at_the_same_moment_all_get_it(tmp_path: Path) -> None:
    # Switching a new file to WAL from several processes at once: SQLite answers some of them
    # "database is locked" at once rather than waiting (a flaky two-generator failure in CI).
    context = multiprocessing.get_context("fork")
    failures = []
    for trial in range(10):
        path, start, results = tmp_path / f"log{trial}.db", context.Barrier(6), context.Queue()
        runs = [context.Process(target=_open_and_log, args=(str(path), start, results)) for _ in range(6)]
        for run in runs:
            run.start()
        for run in runs:
            run.join(60)
        failures += [r for r in (results.get(timeout=10) for _ in runs) if r != "ok"]
    assert failures == []
