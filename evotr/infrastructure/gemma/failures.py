"""Failures that stop a whole generator run, and how to tell a refused key from a refused request.

Google answers a bad key with a 400 ``INVALID_ARGUMENT`` "API key not valid. Please pass a valid
API key." (``google.rpc.ErrorInfo`` reason ``API_KEY_INVALID``; ``API_KEY_EXPIRED`` likewise), and
a key it will not serve (leaked, suspended, API disabled in its project) with a 403
``PERMISSION_DENIED``. Either says nothing about the request: the next request on that key fails the
same way, so the key is retired for the run instead of the sample being skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from evotr.domain.errors import EvoTrError

KEY_HELP = ("set a valid key in GOOGLE_API_KEY (more keys: GOOGLE_API_KEY_2, GOOGLE_API_KEY_3, …; "
            "https://aistudio.google.com/apikey)")


def _error_object(body: object) -> Mapping[str, Any]:
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, Mapping):
        return {}
    inner = body.get("error")
    return inner if isinstance(inner, Mapping) else body


def _reasons(body: object) -> list[str]:
    details = _error_object(body).get("details")
    return [str(d.get("reason", "")) for d in details if isinstance(d, Mapping)] \
        if isinstance(details, list) else []


def key_refusal(code: int | None, status: str | None, message: str | None, body: object) -> str | None:
    """Why the API refused the *key* (``"400 INVALID_ARGUMENT: API key not valid…"``), else None.

    401 and 403 always concern the caller's identity; a 400 only when its ErrorInfo reason is an
    ``API_KEY_*`` one or its message speaks of the API key (other 400s are about the request).
    """
    text = " ".join(str(message or "").split())
    if code in (401, 403):
        return f"{code} {status or ''}: {text}".replace(" :", ":")
    if code == 400 and (any(r.startswith("API_KEY_") for r in _reasons(body)) or "api key" in text.lower()):
        return f"{code} {status or ''}: {text}".replace(" :", ":")
    return None


class NoUsableKeyError(EvoTrError):
    """Every API key was refused by the API (invalid, expired, denied): nothing can be sent."""

    def __init__(self, refusals: Iterable[str]) -> None:
        self.refusals = list(refusals)
        super().__init__(
            "every API key was refused by the API: " + "; ".join(self.refusals) + f"; {KEY_HELP}, "
            "then rerun the same command (it resumes; samples already written are kept)"
        )


class EndpointUnreachableError(EvoTrError):
    """No HTTP answer at all (refused connection, DNS failure, timeouts) after every retry."""

    def __init__(self, url: str, what: str, tries: int, elapsed_s: float, source: str | None) -> None:
        self.url, self.tries = url, tries
        where = f"the network and {source}" if source else "the network connection (and any proxy)"
        super().__init__(
            f"cannot reach the Gemini API at {url} ({what}) after {tries} tries in {elapsed_s:.1f} s; "
            f"check {where}, then rerun the same command (it resumes; samples already written are kept)"
        )


class RequestLogError(EvoTrError):
    """The per-key request log (SQLite) cannot be opened or written."""

    def __init__(self, path: object, what: str) -> None:
        self.path = path
        super().__init__(
            f"cannot use the generator's request log {path}: {what}; make its folder writable "
            "(or delete a damaged file: it only holds the last day's request times)"
        )
