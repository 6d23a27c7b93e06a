"""The `serve:` section of evotr.yaml: where the HTTP API listens and how much it queues."""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from evotr.domain.errors import DomainValidationError
from evotr.domain.validation import non_empty_text, positive_int


def _port(_inst: object, _attr: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise DomainValidationError("port", f"must be a port number 0-65535, got {value!r}")


# An origin as browsers send it: scheme, host, optional port, nothing after (no path, no slash).
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


def _origins(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _check_origins(_inst: object, _attr: object, value: tuple[str, ...]) -> None:
    for origin in value:
        if origin != "*" and not (isinstance(origin, str) and _ORIGIN.fullmatch(origin)):
            raise DomainValidationError(
                "cors_origins", f"{origin!r} is not an origin: write scheme://host[:port] with no path "
                "(e.g. http://localhost:3000), or \"*\" for any")


@attrs.frozen(slots=True)
class ServeSettings:
    """``max_queue`` requests may wait or run at once; more get 503 with Retry-After.

    ``max_body_bytes`` bounds a request body (a 1 MB paste is refused before it is parsed).
    ``cors_origins``: web pages on these origins may call the API from a browser; empty (the
    default) sends no CORS headers, so only the page served at ``/`` and non-browser clients can.
    """

    host: str = attrs.field(default="127.0.0.1", validator=non_empty_text)
    port: int = attrs.field(default=8321, validator=_port)
    max_queue: int = attrs.field(default=16, validator=positive_int)
    max_body_bytes: int = attrs.field(default=512 * 1024, validator=positive_int)
    cors_origins: tuple[str, ...] = attrs.field(default=(), converter=_origins, validator=_check_origins)
