"""Gemma through google-genai at the full rate the keys allow, never over a limit.

Gemma on the Gemini API rejects ``systemInstruction`` and JSON mode, so the instructions travel in
the user turn and the answer is plain text. The SDK's own retries are switched off
(``HttpRetryOptions(attempts=1)``) so they never double up with the ones here.

A refused key (400 "API key not valid", 401, 403) is retired for the run and the request goes on
another key; with none left the run stops (NoUsableKeyError). An endpoint that never answers
(refused connection, DNS failure, timeouts) stops the run after ``max_retries`` retries
(EndpointUnreachableError) instead of skipping sample after sample.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import attrs
import httpx
from google import genai
from google.genai import errors, types

from evotr.application.errors import GenerationRejectedError
from evotr.domain.generation import GenerationRequest, GenerationResult, GeneratorStats, TokenUsage
from evotr.infrastructure.gemma.failures import EndpointUnreachableError, key_refusal
from evotr.infrastructure.gemma.keys import ApiKey, load_api_keys
from evotr.infrastructure.gemma.limiter import Budget, KeyPool, Lease, estimate_tokens
from evotr.infrastructure.gemma.rate_limits import parse_rate_limit
from evotr.infrastructure.gemma.request_log import SqliteRequestLog
from evotr.ports.generator_api import GeneratorAPI

try:
    import aiohttp

    _AIOHTTP_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError,)
    _AIOHTTP_CONNECT: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError,)
except ImportError:  # the SDK falls back to httpx without aiohttp
    _AIOHTTP_ERRORS = _AIOHTTP_CONNECT = ()

DEFAULT_MODEL = "gemma-3-27b-it"
GOOGLE_URL = "https://generativelanguage.googleapis.com"
# Google's Gemma docs call /v1beta/models/gemma-…:generateContent; the SDK would default to v1.
DEFAULT_API_VERSION = "v1beta"
BASE_URL_VARIABLE = "EVOTR_GENAI_BASE_URL"
# No HTTP answer at all: what "cannot reach the endpoint" means.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    TimeoutError, ConnectionError, httpx.TransportError, *_AIOHTTP_ERRORS)
# Not even connected (refused, no route, DNS): nothing reached Google, so nothing counts at Google.
_NOT_SENT: tuple[type[BaseException], ...] = (httpx.ConnectError, ConnectionRefusedError, *_AIOHTTP_CONNECT)
_TRANSIENT: tuple[type[BaseException], ...] = (
    errors.ServerError, errors.UnknownApiResponseError, *_UNREACHABLE)
_log = logging.getLogger(__name__)


class GemmaGenerator(GeneratorAPI):
    """Sends each request on the key that can send soonest, one SDK client per key.

    429 per minute: that key cools down for ``retryDelay`` (+ ``cooldown_margin_s``) and the request
    goes again, on whichever key is free first (at most ``max_rate_limit_retries`` times).
    429 per day: the key is retired until midnight Pacific time; with every key retired the call
    raises GenerationQuotaExhaustedError. A refused key (see :func:`key_refusal`): retired for good,
    the request goes on another key; none left: NoUsableKeyError. 5xx, timeouts and broken
    connections: exponential backoff with jitter, at most ``max_retries`` retries, then
    GenerationRejectedError (5xx) or EndpointUnreachableError (never any HTTP answer). Any other
    4xx: GenerationRejectedError at once. ``endpoint_source`` names where ``base_url`` was set
    (for the unreachable message). ``request.model`` is the model sent; ``model`` is the
    default callers put in their requests (quota is per model, so keep one generator per model).
    A ``log`` (:class:`SqliteRequestLog`) shares the keys' budgets with other processes and later
    runs. A ``pool`` (tests) replaces ``keys``, ``budget`` and ``log``; ``seed`` makes the backoff
    jitter repeatable.
    """

    def __init__(self, keys: Sequence[ApiKey], *, budget: Budget | None = None, model: str = DEFAULT_MODEL,
                 base_url: str | None = None, api_version: str = DEFAULT_API_VERSION,
                 timeout_s: float = 60.0, max_retries: int = 4, max_rate_limit_retries: int = 50,
                 backoff_s: float = 1.0, backoff_max_s: float = 30.0, cooldown_margin_s: float = 0.5,
                 pool: KeyPool | None = None, seed: int | None = None, log: SqliteRequestLog | None = None,
                 endpoint_source: str | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.model, self.base_url, self.api_version = model, base_url, api_version
        self.endpoint_source = endpoint_source
        self._pool = pool or KeyPool(keys, budget, log=log)
        self._timeout_ms = int(timeout_s * 1000)
        self._max_retries, self._max_rate_limited = max_retries, max_rate_limit_retries
        self._backoff_s, self._backoff_max_s, self._margin_s = backoff_s, backoff_max_s, cooldown_margin_s
        self._rng, self._sleep = random.Random(seed), sleep
        self._clients: dict[ApiKey, genai.Client] = {}
        self._totals = GeneratorStats()  # counts only; stats() adds elapsed and allowed rates
        self._started: float | None = None
        self._finished: float | None = None

    def __repr__(self) -> str:
        keys = ", ".join(repr(k) for k in self._pool.keys)
        return f"GemmaGenerator(model={self.model!r}, base_url={self.base_url!r}, keys=[{keys}])"

    @property
    def pool(self) -> KeyPool:
        """The key pool (its budget and per-key usage)."""
        return self._pool

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Answer ``request`` on the first key its limits allow (see the class docstring)."""
        if self._started is None:
            self._started = time.monotonic()
        estimate = estimate_tokens(request.prompt, request.max_output_tokens)
        failures = rate_limited = 0
        first_failure = 0.0
        while True:
            key, lease = await self._pool.acquire(estimate)
            try:
                return await self._send(key, lease, request)
            except errors.ClientError as exc:
                if exc.code == 429:
                    lease.settle(0)  # a refused request may still count at Google: keep it, tokenless
                    rate_limited += 1
                    self._on_rate_limit(key, exc, rate_limited)
                    if rate_limited > self._max_rate_limited:
                        raise self._reject(f"still rate limited after {rate_limited} tries", 429) from None
                    continue
                refusal = key_refusal(exc.code, exc.status, exc.message, exc.details)
                if refusal is not None:
                    lease.settle(0)
                    self._on_refused(key, refusal)
                    continue  # on another key; with none left, acquire raises NoUsableKeyError
                if exc.code != 408:
                    lease.settle(0)
                    raise self._reject(self._describe(exc), exc.code) from None
                first_failure = first_failure or time.monotonic()
                failures = await self._on_transient(key, exc, failures, first_failure)
            except _TRANSIENT as exc:
                if isinstance(exc, _NOT_SENT):
                    lease.release()  # else a dead endpoint would use up the budget of retries
                first_failure = first_failure or time.monotonic()
                failures = await self._on_transient(key, exc, failures, first_failure)
            finally:
                lease.settle()  # no-op when settled; else (cancelled, failed) keep the estimate
                self._finished = time.monotonic()

    async def _send(self, key: ApiKey, lease: Lease, request: GenerationRequest) -> GenerationResult:
        config = types.GenerateContentConfig(
            temperature=request.temperature, max_output_tokens=request.max_output_tokens,
            automatic_continuation=False,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
        # The instructions are in the prompt itself: one user turn, never system_instruction.
        contents = [types.Content(role="user", parts=[types.Part(text=request.prompt)])]
        self._count(requests=1)
        response = await self._client(key).aio.models.generate_content(
            model=request.model, contents=contents, config=config)
        meta = response.usage_metadata
        usage = TokenUsage(prompt_tokens=(meta.prompt_token_count or 0) if meta else 0,
                           output_tokens=(meta.candidates_token_count or 0) if meta else 0)
        lease.settle(usage.total if meta else None)
        self._count(prompt_tokens=usage.prompt_tokens, output_tokens=usage.output_tokens)
        text = response.text
        if not text:
            reason = response.candidates[0].finish_reason if response.candidates else "no candidates"
            raise self._reject(f"the model answered no text ({reason})", None)
        return GenerationResult(text=text, usage=usage, model=response.model_version or request.model)

    def _client(self, key: ApiKey) -> genai.Client:
        if key not in self._clients:  # created lazily: keys that are never picked cost nothing
            options = types.HttpOptions(base_url=self.base_url, api_version=self.api_version,
                                        timeout=self._timeout_ms,
                                        retry_options=types.HttpRetryOptions(attempts=1))
            self._clients[key] = genai.Client(api_key=key.secret, vertexai=False, http_options=options)
        return self._clients[key]

    def _on_rate_limit(self, key: ApiKey, exc: errors.APIError, attempt: int) -> None:
        limit = parse_rate_limit(exc.details)
        if limit.per_day:
            self._count(rate_limited_day=1)
            _log.warning("429 per day on %s (%s): retiring the key until the daily reset",
                         key.name, key.masked)
            self._pool.retire(key)
            return
        self._count(rate_limited_minute=1)
        delay = limit.retry_delay_s if limit.retry_delay_s is not None else self._backoff(attempt)
        _log.info("429 %s on %s (%s): cooling it down %.1f s", limit.kind, key.name, key.masked, delay)
        self._pool.cool_down(key, delay + self._margin_s)

    def _on_refused(self, key: ApiKey, refusal: str) -> None:
        self._count(rejected=1)
        if self._pool.refuse(key, self._scrub(refusal)):  # INFO: callers report refused_keys themselves
            _log.info("%s (%s) was refused by the API (%s): not used again in this run",
                         key.name, key.masked, self._scrub(refusal))

    @property
    def refused_keys(self) -> list[tuple[str, str, str]]:
        """``(variable, masked key, reason)`` for every key the API refused during this run."""
        return [(key.name, key.masked, reason) for key, reason in self._pool.refused]

    async def _on_transient(self, key: ApiKey, exc: BaseException, failures: int, since: float) -> int:
        failures += 1
        self._count(server_errors=1)
        what = self._describe(exc)
        if failures > self._max_retries and isinstance(exc, _UNREACHABLE):
            self._count(rejected=1)
            raise EndpointUnreachableError(self.base_url or GOOGLE_URL, what, failures,
                                           time.monotonic() - since, self.endpoint_source) from None
        if failures > self._max_retries:
            status = getattr(exc, "code", None)
            raise self._reject(f"gave up after {failures} tries: {what}", status) from None
        delay = self._backoff(failures)
        _log.info("transient error on %s (%s): %s; retry %d in %.2f s", key.name, key.masked, what,
                  failures, delay)
        await self._sleep(delay)
        return failures

    def _backoff(self, attempt: int) -> float:
        # Exponential with jitter in [50 %, 100 %], so parallel callers do not retry in step.
        base: float = min(self._backoff_max_s, self._backoff_s * 2.0 ** (attempt - 1))
        return base * (0.5 + self._rng.random() / 2)

    def _reject(self, message: str, status: int | None) -> GenerationRejectedError:
        self._count(rejected=1)
        _log.warning("request rejected: %s", message)
        return GenerationRejectedError(self._scrub(message), status=status)

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, errors.APIError):
            text = f"{exc.code} {exc.status}: {exc.message}"
        elif isinstance(getattr(exc, "os_error", None), OSError):  # aiohttp: the OS's own words
            text = f"{type(exc.os_error).__name__}: {exc.os_error}"  # type: ignore[attr-defined]
        else:
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return self._scrub(" ".join(text.split()))  # one line, whatever the library wrote

    def _scrub(self, text: str) -> str:
        for key in self._pool.keys:  # servers may echo a key back; never let it reach a message
            text = text.replace(key.secret, key.masked)
        return text

    def _count(self, **deltas: int) -> None:
        # One event loop mutates this, so replacing the frozen totals needs no lock.
        totals = self._totals
        self._totals = attrs.evolve(totals, **{k: getattr(totals, k) + v for k, v in deltas.items()})

    def stats(self) -> GeneratorStats:
        """Requests sent, tokens from usageMetadata, 429s by kind, errors, elapsed, allowed rates."""
        n = len(self._pool.keys)
        elapsed = 0.0 if self._started is None else (self._finished or time.monotonic()) - self._started
        return attrs.evolve(self._totals, elapsed_s=max(0.0, elapsed),
                            allowed_rpm=float(self._pool.budget.rpm * n),
                            allowed_tpm=float(self._pool.budget.tpm * n))

    async def aclose(self) -> None:
        """Close every SDK client's connections and the request log (both reopen on the next call)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aio.aclose()
            client.close()
        if self._pool.log is not None:
            self._pool.log.close()

    async def __aenter__(self) -> GemmaGenerator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def gemma_generator_from_env(env: Mapping[str, str], *, base_url: str | None = None,
                             rpm: int | None = None, tpm: int | None = None, rpd: int | None = None,
                             model: str | None = None, config_base_url: str | None = None,
                             request_log: Path | None = None, max_retries: int = 4,
                             backoff_s: float = 1.0, timeout_s: float = 60.0) -> GemmaGenerator:
    """A GemmaGenerator on every ``GOOGLE_API_KEY``/``GOOGLE_API_KEY_<n>`` in ``env``.

    The endpoint: ``base_url``, else ``EVOTR_GENAI_BASE_URL`` in ``env``, else ``config_base_url``
    (generator.base_url in generation.yaml), else Google's own URL. Limits default to the free tier
    per key (30 rpm, 15,000 tpm, 14,400 rpd); keys add quota only if they belong to different Google
    Cloud projects. ``request_log`` (a SQLite file, see :mod:`.request_log`) shares the budgets with
    other processes and later runs. Raises NoApiKeysError without keys.
    """
    keys = load_api_keys(env)
    default = Budget()
    budget = Budget(rpm=rpm or default.rpm, tpm=tpm or default.tpm, rpd=rpd or default.rpd)
    url, source = base_url, None
    if not url and env.get(BASE_URL_VARIABLE):
        url, source = env[BASE_URL_VARIABLE], BASE_URL_VARIABLE
    elif not url and config_base_url:
        url, source = config_base_url, "generator.base_url in generation.yaml"
    model = model or DEFAULT_MODEL
    # In flight as long as one request may take: then a killed process's rows stop blocking.
    log = None if request_log is None else SqliteRequestLog(request_log, scope=model,
                                                            in_flight_s=timeout_s + 60.0)
    return GemmaGenerator(keys, budget=budget, model=model, base_url=url or None, log=log,
                          endpoint_source=source, max_retries=max_retries, backoff_s=backoff_s,
                          timeout_s=timeout_s)
