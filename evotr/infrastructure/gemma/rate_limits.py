"""What a Gemini 429 says: which quota ran out (per minute or per day) and how long to wait.

Google's body is ``{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [...]}}`` with
a ``google.rpc.QuotaFailure`` (``violations[].quotaId`` such as
``GenerateRequestsPerDayPerProjectPerModel-FreeTier``) and a ``google.rpc.RetryInfo``
(``retryDelay: "17s"``). The SDK keeps that body as ``APIError.details`` but never reads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
_RETRY_IN = re.compile(r"retry in (\d+(?:\.\d+)?)\s*s", re.IGNORECASE)


@attrs.frozen
class RateLimit:
    """One 429: ``per_day`` (retire the key) or per minute (cool it down for ``retry_delay_s``)."""

    per_day: bool = False
    tokens: bool = False
    retry_delay_s: float | None = None
    quota_ids: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``day``, ``minute_tokens`` or ``minute_requests`` (for logs)."""
        if self.per_day:
            return "day"
        return "minute_tokens" if self.tokens else "minute_requests"


def _error_object(body: object) -> Mapping[str, Any]:
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, Mapping):
        return {}
    inner = body.get("error")
    return inner if isinstance(inner, Mapping) else body


def parse_duration(text: object) -> float | None:
    """Seconds from a protobuf Duration string such as ``"17s"`` or ``"1.5s"`` (None if not one)."""
    match = _SECONDS.match(text) if isinstance(text, str) else None
    return float(match.group(1)) if match else None


def parse_rate_limit(body: object) -> RateLimit:
    """Read a 429 body (``APIError.details``); missing parts give a per-minute limit, delay None."""
    error = _error_object(body)
    delay: float | None = None
    quota_ids: list[str] = []
    metrics: list[str] = []
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, Mapping):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.rpc.RetryInfo"):
            delay = parse_duration(detail.get("retryDelay"))
        elif kind.endswith("google.rpc.QuotaFailure"):
            for violation in detail.get("violations") or []:
                if isinstance(violation, Mapping):
                    quota_ids.append(str(violation.get("quotaId", "")))
                    metrics.append(str(violation.get("quotaMetric", "")))
    if delay is None:  # the message also says "Please retry in 17.19s."
        match = _RETRY_IN.search(str(error.get("message", "")))
        delay = float(match.group(1)) if match else None
    per_day = any("perday" in q.lower() for q in quota_ids) or any("per_day" in m for m in metrics)
    tokens = any("token" in q.lower() for q in quota_ids) or any("token" in m for m in metrics)
    return RateLimit(per_day=per_day, tokens=tokens, retry_delay_s=delay, quota_ids=tuple(quota_ids))
