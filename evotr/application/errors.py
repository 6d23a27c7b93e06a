"""Errors the use cases and every repository behind them raise on purpose."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from evotr.domain.errors import EvoTrError


class UnknownTurnError(EvoTrError, LookupError):
    """Feedback named a turn id that no repository has stored."""

    def __init__(self, turn_id: str) -> None:
        super().__init__(
            f"no turn with id {turn_id}; feedback can only be given on a stored turn"
        )
        self.turn_id = turn_id


class DuplicateTurnError(EvoTrError, ValueError):
    """A turn was stored twice under the same id."""

    def __init__(self, turn_id: str) -> None:
        super().__init__(f"a turn with id {turn_id} is already stored")
        self.turn_id = turn_id


class AdapterNotRegisteredError(EvoTrError, LookupError):
    """Generation asked for an adapter version the LLM backend has not registered."""

    def __init__(self, version: object, registered: Sequence[object]) -> None:
        known = ", ".join(str(v) for v in registered) or "none"
        super().__init__(f"adapter {version} is not registered with the model (registered: {known})")
        self.version = version


class GenerationQuotaExhaustedError(EvoTrError):
    """Every API key is out of quota for now; the run stops cleanly and can resume later."""

    def __init__(self, message: str, resume_at: datetime | None = None) -> None:
        super().__init__(message)
        self.resume_at = resume_at


class GenerationRejectedError(EvoTrError):
    """The generator refused this one request for good (a 4xx other than 429); skip the sample."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
