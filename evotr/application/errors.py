"""Errors the use cases and every repository behind them raise on purpose."""

from __future__ import annotations

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
