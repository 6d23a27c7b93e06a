"""GemmaGenerator and the real google-genai SDK against the loopback fake Gemini endpoint.

The fake's windows are real 60 s windows, so limits are scaled up and runs last a few seconds:
"never over a limit" is checked by the server's own records over each short run.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from google import genai
from google.genai import errors, types

from evotr.application.errors import GenerationQuotaExhaustedError, GenerationRejectedError
from evotr.domain.generation import GenerationRequest
from evotr.infrastructure.gemma import (
    ApiKey,
    Budget,
    GemmaGenerator,
    NoApiKeysError,
    NoUsableKeyError,
    gemma_generator_from_env,
    load_api_keys,
)
from tests.fakes import FakeGeminiServer, Limits, count_tokens

pytestmark = pytest.mark.integration

MODEL = "gemma-3-27b-it"
SECRET_1, SECRET_2 = "fake-gemini-secret-one-1111", "fake-gemini-secret-two-2222"
PROMPT = "Türkçe bir Python sorusu ve yanıtı üret; yanıt JSON olsun: {\"user\": ..., \"assistant\": ...}. "


def keys(*secrets: str) -> list[ApiKey]:
    names = ["GOOGLE_API_KEY", "GOOGLE_API_KEY_2", "GOOGLE_API_KEY_3"]
    return [ApiKey(name, secret) for name, secret in zip(names, secrets, strict=False)]


def ask(prompt: str = PROMPT, max_output_tokens: int = 64) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, model=MODEL, temperature=0.7, max_output_tokens=max_output_tokens)


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeGeminiServer]]:
    """Start fake servers on ephemeral loopback ports; every one is stopped after the test."""
    started: list[FakeGeminiServer] = []

    def start(**options: object) -> FakeGeminiServer:
        server = FakeGeminiServer(**options)  # type: ignore[arg-type]
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


async def completed_within(generator: GemmaGenerator, n: int, seconds: float, prompt: str = PROMPT,
                           *, settle_after: int | None = None) -> int:
    """Start ``n`` generate calls at once; count those answered within ``seconds``, cancel the rest.

    With ``settle_after``, stop waiting once that many are answered plus a short settle (so a slow,
    loaded machine gets the whole deadline while a fast one finishes early); a limiter that lets
    more through than allowed still shows up in the count.
    """
    tasks = [asyncio.create_task(generator.generate(ask(prompt))) for _ in range(n)]
    if settle_after is None:
        done, pending = await asyncio.wait(tasks, timeout=seconds)
    else:
        deadline = asyncio.get_running_loop().time() + seconds
        while sum(t.done() for t in tasks) < settle_after and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        done = {t for t in tasks if t.done()}
        pending = {t for t in tasks if not t.done()}
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await generator.aclose()
    return sum(1 for task in done if task.exception() is None)


@pytest.mark.parametrize(("api_version", "path_prefix"), [("v1beta", "/v1beta/"), ("v1", "/v1/")])
def test_the_real_sdk_talks_to_the_fake_with_the_prompt_in_the_user_turn(
        serve: Callable[..., FakeGeminiServer], api_version: str, path_prefix: str) -> None:
    server = serve(keys=[SECRET_1])

    async def scenario() -> tuple[str, int]:
        async with GemmaGenerator(keys(SECRET_1), base_url=server.base_url, api_version=api_version) as gen:
            result = await gen.generate(ask())
            return result.text, gen.stats().requests

    text, requests = asyncio.run(scenario())
    (record,) = server.records
    assert record.path == f"{path_prefix}models/{MODEL}:generateContent" and record.status == 200
    assert record.user_agent.startswith("google-genai-sdk/") and not record.system_instruction
    assert record.prompt_tokens == count_tokens(PROMPT) and '"user"' in text and requests == 1


def test_the_fake_refuses_system_instructions_and_json_mode_like_google(
        serve: Callable[..., FakeGeminiServer]) -> None:
    server = serve(keys=[SECRET_1])
    client = genai.Client(api_key=SECRET_1, vertexai=False, http_options=types.HttpOptions(
        base_url=server.base_url, retry_options=types.HttpRetryOptions(attempts=1)))

    async def call(config: types.GenerateContentConfig) -> errors.APIError:
        with pytest.raises(errors.ClientError) as caught:
            await client.aio.models.generate_content(model=MODEL, contents="merhaba", config=config)
        return caught.value

    async def scenario() -> list[errors.APIError]:
        try:
            return [await call(types.GenerateContentConfig(system_instruction="Sen bir asistansın.")),
                    await call(types.GenerateContentConfig(response_mime_type="application/json"))]
        finally:
            await client.aio.aclose()

    system, json_mode = asyncio.run(scenario())
    assert system.code == 400 and "Developer instruction is not enabled" in str(system.message)
    assert json_mode.code == 400 and "JSON mode is not enabled" in str(json_mode.message)


def test_concurrent_calls_never_go_over_a_limit_and_use_the_budget(
        serve: Callable[..., FakeGeminiServer]) -> None:
    limits = Limits(rpm=20, tpm=3000, rpd=1000)
    server = serve(keys=[SECRET_1], rpm=limits.rpm, tpm=limits.tpm, rpd=limits.rpd, latency_s=0.05)
    gen = GemmaGenerator(keys(SECRET_1), budget=Budget(limits.rpm, limits.tpm, limits.rpd),
                         base_url=server.base_url)
    prompt = PROMPT * 6  # ~150 tokens by the fake's count: TPM binds before RPM
    # Nothing more fits in the 60 s window once the budget is used, so a wide wait only adds slack.
    done = asyncio.run(completed_within(gen, 40, 5.0, prompt))
    records = server.records
    assert [r for r in records if r.status == 429] == [] and server.check_limits() == []
    used = sum(r.prompt_tokens + r.output_tokens for r in records if r.accepted)
    per_request = count_tokens(prompt) + 64
    assert used <= limits.tpm and used > limits.tpm - 2 * per_request  # the budget is used, not wasted
    assert done == sum(1 for r in records if r.accepted) >= 12


def test_two_keys_give_twice_the_throughput_of_one(serve: Callable[..., FakeGeminiServer]) -> None:
    measured = {}
    for secrets in ((SECRET_1,), (SECRET_1, SECRET_2)):
        server = serve(keys=list(secrets), rpm=60, tpm=1_000_000, latency_s=0.05)
        gen = GemmaGenerator(keys(*secrets), budget=Budget(rpm=60, tpm=1_000_000), base_url=server.base_url)
        # 60 per key fit in the 60 s window; wait up to 20 s for them even on a loaded machine.
        measured[len(secrets)] = asyncio.run(completed_within(gen, 200, 20.0, settle_after=60 * len(secrets)))
        assert server.check_limits() == [] and all(r.status == 200 for r in server.records)
    print(f"\nRPM-bound at 60/key: 1 key {measured[1]} requests, 2 keys {measured[2]}")
    assert measured[1] == 60 and measured[2] / measured[1] == pytest.approx(2.0, abs=0.1)


def test_a_per_minute_429_cools_that_key_and_the_request_goes_on_another(
        serve: Callable[..., FakeGeminiServer]) -> None:
    server = serve(keys=[SECRET_1, SECRET_2], rpm=100, key_limits={SECRET_1: Limits(rpm=2)})
    gen = GemmaGenerator(keys(SECRET_1, SECRET_2), budget=Budget(rpm=50), base_url=server.base_url)

    async def scenario() -> list[str]:
        async with gen:
            return [(await gen.generate(ask())).text for _ in range(6)]

    assert len(asyncio.run(scenario())) == 6
    records = server.records
    limited = [r for r in records if r.status == 429]
    assert [(r.key_index, r.outcome) for r in limited] == [(0, "rate_limited_minute")]
    assert all(r.key_index == 1 for r in records if r.seq > limited[0].seq)  # key 0 cools ~60 s
    assert gen.stats().rate_limited_minute == 1 and gen.stats().requests == 7


def test_after_the_retry_delay_the_same_key_is_used_again(serve: Callable[..., FakeGeminiServer]) -> None:
    server = serve(keys=[SECRET_1], faults={1: "rate_limit"}, injected_retry_delay_s=1.0)
    gen = GemmaGenerator(keys(SECRET_1), base_url=server.base_url, cooldown_margin_s=0.2)

    async def scenario() -> None:
        async with gen:
            await gen.generate(ask())
            await gen.generate(ask())

    asyncio.run(scenario())
    first, limited, retried = sorted(server.records, key=lambda r: r.seq)
    assert (first.status, limited.status, retried.status) == (200, 429, 200)
    assert retried.time - limited.time >= 1.2  # retryDelay "1s" plus the margin
    assert gen.stats().rate_limited_minute == 1


def test_per_day_exhaustion_retires_keys_then_stops_with_a_resume_time(
        serve: Callable[..., FakeGeminiServer]) -> None:
    server = serve(keys=[SECRET_1, SECRET_2], rpd=3, key_limits={SECRET_1: Limits(rpd=1)})
    gen = GemmaGenerator(keys(SECRET_1, SECRET_2), base_url=server.base_url)

    async def scenario() -> tuple[int, GenerationQuotaExhaustedError, int]:
        async with gen:
            answered = 0
            with pytest.raises(GenerationQuotaExhaustedError) as caught:
                for _ in range(10):
                    await gen.generate(ask())
                    answered += 1
            sent = len(server.records)
            with pytest.raises(GenerationQuotaExhaustedError):
                await gen.generate(ask())
            return answered, caught.value, sent

    answered, exhausted, sent = asyncio.run(scenario())
    assert answered == 4 and sent == 6 and len(server.records) == sent  # nothing sent after
    assert [r.outcome for r in server.records if r.status == 429] == ["rate_limited_day"] * 2
    now = datetime.now(UTC)
    assert exhausted.resume_at is not None and now < exhausted.resume_at <= now + timedelta(hours=25)
    assert gen.stats().rate_limited_day == 2


def test_server_errors_are_retried_with_backoff_then_given_up(serve: Callable[..., FakeGeminiServer]) -> None:
    server = serve(keys=[SECRET_1], faults={0: "server_error", 1: "server_error", 3: "server_error",
                                            4: "server_error", 5: "server_error", 6: "malformed"})
    gen = GemmaGenerator(keys(SECRET_1), base_url=server.base_url, backoff_s=0.1, max_retries=2)

    async def scenario() -> tuple[str, GenerationRejectedError, str]:
        async with gen:
            ok = await gen.generate(ask())
            with pytest.raises(GenerationRejectedError) as caught:
                await gen.generate(ask())
            return ok.text, caught.value, (await gen.generate(ask())).text

    text, rejected, malformed = asyncio.run(scenario())
    times = [r.time for r in sorted(server.records, key=lambda r: r.seq)]
    assert '"user"' in text and rejected.status == 500 and malformed == '{"user": "Yarım kalan'
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1  # 0.1 s, 0.2 s with jitter
    stats = gen.stats()
    assert (stats.requests, stats.server_errors, stats.rejected) == (7, 5, 1)


def test_an_invalid_only_key_stops_at_once_and_no_key_leaks(serve: Callable[..., FakeGeminiServer],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = serve(keys=[SECRET_1])  # SECRET_2 is unknown to it: Google's 400 "API key not valid"
    gen = GemmaGenerator(keys(SECRET_2), base_url=server.base_url)

    async def scenario() -> NoUsableKeyError:
        async with gen:
            with pytest.raises(NoUsableKeyError) as caught:
                await gen.generate(ask())
            with pytest.raises(NoUsableKeyError):  # nothing is sent on a refused key again
                await gen.generate(ask())
            return caught.value

    rejected = asyncio.run(scenario())
    assert "GOOGLE_API_KEY (…2222): 400 INVALID_ARGUMENT: API key not valid" in str(rejected)
    assert len(server.records) == 1 and gen.stats().rejected == 1
    shown = [str(rejected), repr(rejected), "".join(traceback.format_exception(rejected)), caplog.text,
             repr(gen), str(gen.stats())]
    assert all(SECRET_2 not in text and SECRET_2[:-4] not in text for text in shown)
    assert "…2222" in repr(gen)


def test_keys_come_from_the_environment_in_order_and_masked() -> None:
    env = {"GOOGLE_API_KEY_10": "k" * 20 + "0010", "GOOGLE_API_KEY": "k" * 20 + "0001",
           "GOOGLE_API_KEY_2": "k" * 20 + "0002", "GOOGLE_API_KEY_3": "  ", "OTHER": "x"}
    loaded = load_api_keys(env)
    assert [k.name for k in loaded] == ["GOOGLE_API_KEY", "GOOGLE_API_KEY_2", "GOOGLE_API_KEY_10"]
    assert repr(loaded[0]) == "ApiKey(GOOGLE_API_KEY, …0001)" and str(loaded[0]) == repr(loaded[0])
    with pytest.raises(NoApiKeysError) as caught:
        load_api_keys({"GOOGLE_API_KEY_3": "", "GOOGLE_API_KEY": " "})
    assert "GOOGLE_API_KEY, GOOGLE_API_KEY_3" in str(caught.value)


def test_generator_from_env_reads_the_base_url_unless_given() -> None:
    env = {"GOOGLE_API_KEY": SECRET_1, "GOOGLE_API_KEY_2": SECRET_2,
           "EVOTR_GENAI_BASE_URL": "http://127.0.0.1:9"}
    gen = gemma_generator_from_env(env, rpm=90)
    assert gen.base_url == "http://127.0.0.1:9" and gen.model == MODEL
    assert gen.stats().allowed_rpm == 180 and gen.stats().allowed_tpm == 30_000
    assert gemma_generator_from_env(env, base_url="http://127.0.0.1:8").base_url == "http://127.0.0.1:8"
    assert SECRET_1 not in repr(gen) and SECRET_2 not in repr(gen) and gen.stats().elapsed_s == 0.0
