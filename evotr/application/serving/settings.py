"""The `serve:` section of evotr.yaml: where the HTTP API listens and how much it queues."""

from __future__ import annotations

import attrs

from evotr.domain.errors import DomainValidationError
from evotr.domain.validation import non_empty_text, positive_int


def _port(_inst: object, _attr: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise DomainValidationError("port", f"must be a port number 0-65535, got {value!r}")


@attrs.frozen(slots=True)
class ServeSettings:
    """``max_queue`` requests may wait or run at once; more get 503 with Retry-After.

    ``max_body_bytes`` bounds a request body (a 1 MB paste is refused before it is parsed).
    """

    host: str = attrs.field(default="127.0.0.1", validator=non_empty_text)
    port: int = attrs.field(default=8321, validator=_port)
    max_queue: int = attrs.field(default=16, validator=positive_int)
    max_body_bytes: int = attrs.field(default=512 * 1024, validator=positive_int)
