"""The quota model and response bodies of the fake Gemini endpoint (pure, no I/O).

Quota rule, per key (Google counts per project): a request is admitted when, among the requests
admitted in the last 60 s, fewer than ``rpm`` were admitted and their tokens plus this request's
prompt tokens fit ``tpm``, and fewer than ``rpd`` were admitted since the day counter was reset.
Tokens are counted with :func:`count_tokens`: the prompt at admission, the response once answered.
A 429's retryDelay is the true wait (rounded up to whole seconds); for the per-day quota it is the
time to the next midnight Pacific time, though the fake's day only ends on ``reset_day()``.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WINDOW_S = 60.0
PATH = re.compile(r"^/(v1|v1beta)/models/([^/:?]+):generateContent$")
_METRIC = "generativelanguage.googleapis.com/generate_content_free_tier_"
_QUOTAS = {  # kind -> (metric suffix, Google's quota id)
    "minute": ("requests", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"),
    "tokens": ("input_token_count", "GenerateContentInputTokensPerModelPerMinute-FreeTier"),
    "day": ("requests", "GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
}
FAULTS = ("server_error", "malformed", "rate_limit")
REFUSALS = ("invalid", "expired", "denied")
Responder = Callable[[str, random.Random], str]


def count_tokens(text: str) -> int:
    """The fake's token rule: one token per 4 characters, rounded up, at least 1."""
    return max(1, math.ceil(len(text) / 4))


def sample_responder(prompt: str, rng: random.Random) -> str:
    """A valid ``{"user", "assistant"}`` sample, bare or in a ```json fence, sometimes with prose."""
    n = rng.randrange(100_000)
    sample = json.dumps({"user": f"Python'da bir listeyi nasıl sıralarım? (#{n})",
                         "assistant": f"`sorted(liste)` yeni liste döndürür; `liste.sort()` yerinde. (#{n})"},
                        ensure_ascii=False)
    style = rng.randrange(3)
    if style == 0:
        return sample
    fenced = f"```json\n{sample}\n```"
    return fenced if style == 1 else f"İşte istediğin örnek:\n{fenced}\nBaşka örnek ister misin?"


@dataclass(frozen=True)
class Limits:
    """Per-key quotas: requests per minute, tokens per minute, requests per day."""

    rpm: int = 30
    tpm: int = 15_000
    rpd: int = 14_400


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it; the key is kept only as its index (-1: unknown or missing)."""

    seq: int
    time: float  # time.monotonic() when admitted or refused
    key_index: int
    path: str
    model: str
    status: int
    outcome: str  # ok malformed rate_limited_{minute,tokens,day} server_error bad_request invalid_key
    #              refused_{invalid,expired,denied} (a key listed in refused_keys)
    prompt_tokens: int = 0
    output_tokens: int = 0
    done_time: float = 0.0
    day: int = 0
    user_agent: str = ""
    system_instruction: bool = False

    @property
    def accepted(self) -> bool:
        """Admitted and counted against the key's quota."""
        return self.status == 200


@dataclass
class KeyQuota:
    """One key's limits, its last 60 s of admitted requests and its count for the day."""

    limits: Limits
    window: list[RequestRecord] = field(default_factory=list)  # admitted, oldest first
    today: int = 0


def _seconds_to_pacific_midnight() -> float:
    now = datetime.now(ZoneInfo("America/Los_Angeles"))
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


def error_body(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    """Google's error JSON: ``{"error": {"code", "message", "status", "details"?}}``."""
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    return {"error": {**body, "details": list(details)} if details else body}


_NO_KEY = error_body(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without "
                 "established identity). Please use API Key or other form of API consumer identity.")
_BAD_KEY = error_body(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                  {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                   "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}})


def key_refusal(kind: str, key: str) -> tuple[int, dict[str, Any]]:
    """What Google answers for a key it will not serve: ``invalid`` / ``expired`` (400) or ``denied`` (403).

    ``denied`` echoes the key in its message, as Google's "Consumer 'api_key:…' has been
    suspended" does: the client must scrub it before showing anything.
    """
    if kind == "invalid":
        return 400, _BAD_KEY
    if kind == "expired":
        return 400, error_body(400, "INVALID_ARGUMENT", "API key expired. Please renew the API key.",
                               {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "API_KEY_EXPIRED", "domain": "googleapis.com"})
    if kind == "denied":
        return 403, error_body(403, "PERMISSION_DENIED",
                               f"Permission denied: Consumer 'api_key:{key}' has been suspended.",
                               {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "CONSUMER_SUSPENDED", "domain": "googleapis.com"})
    raise ValueError(f"unknown refusal {kind!r}; use {REFUSALS}")


def quota_error(kind: str, delay_s: float, limit: int, model: str) -> dict[str, Any]:
    """Google's 429 body for ``kind`` (minute | tokens | day) with QuotaFailure and RetryInfo."""
    metric, quota_id = _QUOTAS[kind]
    violation = {"quotaMetric": _METRIC + metric, "quotaId": quota_id,
                 "quotaDimensions": {"location": "global", "model": model}, "quotaValue": str(limit)}
    message = (f"You exceeded your current quota, please check your plan and billing details. * Quota "
               f"exceeded for metric: {_METRIC + metric}, limit: {limit}, model: {model}\n"
               f"Please retry in {delay_s:.3f}s.")
    return error_body(429, "RESOURCE_EXHAUSTED", message,
                  {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]},
                  {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                   "retryDelay": f"{max(1, math.ceil(delay_s))}s"})


def validate(match: re.Match[str] | None, key: str, index: int, request: Any,
             model: str) -> tuple[int, dict[str, Any]] | None:
    """None for a request Google would take, else (status, error body) like the real API."""
    if match is None:
        return 404, error_body(404, "NOT_FOUND", "Requested entity was not found.")
    if not key or index < 0:
        return (400, _BAD_KEY) if key else (403, _NO_KEY)
    if not isinstance(request, dict) or not request.get("contents"):
        return 400, error_body(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: not specified")
    config = request.get("generationConfig") or {}
    if model.startswith("gemma") and "systemInstruction" in request:
        message = f"Developer instruction is not enabled for models/{model}"
        return 400, error_body(400, "INVALID_ARGUMENT", message)
    json_mode = config.get("responseMimeType") == "application/json"
    json_mode = json_mode or bool({"responseSchema", "responseJsonSchema"} & set(config))
    if model.startswith("gemma") and json_mode:
        return 400, error_body(400, "INVALID_ARGUMENT", f"JSON mode is not enabled for models/{model}")
    return None


def over_limit(state: KeyQuota, prompt_tokens: int, model: str) -> tuple[str, dict[str, Any]] | None:
    """None if admitted now, else (minute | tokens | day, Google's 429 body with the true delay)."""
    now = time.monotonic()
    state.window = [r for r in state.window if r.time > now - WINDOW_S]
    limits = state.limits
    if state.today >= limits.rpd:
        return "day", quota_error("day", _seconds_to_pacific_midnight(), limits.rpd, model)
    if len(state.window) >= limits.rpm:
        delay = state.window[len(state.window) - limits.rpm].time + WINDOW_S - now
        return "minute", quota_error("minute", delay, limits.rpm, model)
    used = sum(r.prompt_tokens + r.output_tokens for r in state.window)
    if used + prompt_tokens > limits.tpm:
        freed, delay = 0, WINDOW_S
        for r in state.window:  # oldest first: the delay until enough tokens leave the window
            freed += r.prompt_tokens + r.output_tokens
            if used - freed + prompt_tokens <= limits.tpm:
                delay = r.time + WINDOW_S - now
                break
        return "tokens", quota_error("tokens", delay, limits.tpm, model)
    return None


def check_limits(records: Sequence[RequestRecord], limits: Sequence[Limits]) -> list[str]:
    """Re-check every admitted request against the quota rule from the records alone.

    ``limits[i]`` are key i's limits. Returns one line per violation (empty: none over a limit).
    """
    found: list[str] = []
    admitted = sorted((r for r in records if r.accepted), key=lambda r: r.seq)
    for i, r in enumerate(admitted):
        mine = [p for p in admitted[:i] if p.key_index == r.key_index]
        window = [p for p in mine if p.time > r.time - WINDOW_S]
        # A response's tokens count from the moment it was answered, as they did at admission.
        tokens = r.prompt_tokens + sum(p.prompt_tokens + (p.output_tokens if p.done_time <= r.time else 0)
                                       for p in window)
        limit = limits[r.key_index]
        if len(window) + 1 > limit.rpm:
            found.append(f"seq {r.seq}: {len(window) + 1} requests in 60 s > rpm {limit.rpm}")
        if tokens > limit.tpm:
            found.append(f"seq {r.seq}: {tokens} tokens in 60 s > tpm {limit.tpm}")
        if sum(1 for p in mine if p.day == r.day) + 1 > limit.rpd:
            found.append(f"seq {r.seq}: more than rpd {limit.rpd} requests in a day")
    return found
