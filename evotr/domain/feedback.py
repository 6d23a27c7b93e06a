"""Feedback on a turn, its statistics and the gate that opens training."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import attrs

from evotr.domain.errors import DomainValidationError
from evotr.domain.intents import Intent, to_intent
from evotr.domain.text import encoding_problem
from evotr.domain.turns import TurnId
from evotr.domain.validation import aware_datetime, non_negative_int, parse_enum, positive_int

_MAX_CORRECTION_CHARS = 100_000


def to_feedback_kind(value: FeedbackKind | str) -> FeedbackKind:
    """Converter: accept a FeedbackKind or its name."""
    return value if isinstance(value, FeedbackKind) else FeedbackKind.parse(value)


class FeedbackKind(StrEnum):
    """👍, 👎 or a corrected answer."""

    THUMBS_UP = "thumbs_up"
    THUMBS_DOWN = "thumbs_down"
    CORRECTION = "correction"

    @classmethod
    def parse(cls, name: str) -> FeedbackKind:
        """Parse a kind name; unknown names list the valid ones."""
        return parse_enum(cls, name, "kind", "feedback kind")


@attrs.frozen(slots=True)
class Feedback:
    """The user's verdict on one turn; a correction carries the answer they wanted.

    A correction may also name the ``intent`` the message should have been routed to (a
    misroute): the router learns it, and the correction trains that intent's family.
    """

    turn_id: TurnId
    kind: FeedbackKind = attrs.field(converter=to_feedback_kind)
    correction: str | None = None
    source: str = "cli"
    created_at: datetime = attrs.field(factory=lambda: datetime.now(UTC), validator=aware_datetime)
    intent: Intent | None = attrs.field(default=None, converter=attrs.converters.optional(to_intent))

    def __attrs_post_init__(self) -> None:
        if self.intent is not None and self.kind is not FeedbackKind.CORRECTION:
            raise DomainValidationError("intent", f"only a correction names an intent, not {self.kind.value}")
        if self.kind is FeedbackKind.CORRECTION:
            if not isinstance(self.correction, str) or not self.correction.strip():
                raise DomainValidationError("correction", "a correction needs the corrected text")
            if len(self.correction) > _MAX_CORRECTION_CHARS:
                raise DomainValidationError(
                    "correction", f"is {len(self.correction)} characters; at most {_MAX_CORRECTION_CHARS}"
                )
            problem = encoding_problem(self.correction)
            if problem is not None:
                raise DomainValidationError("correction", problem)
        elif self.correction is not None:
            raise DomainValidationError(
                "correction", f"only a correction carries text, not {self.kind.value}"
            )
        if not isinstance(self.source, str) or not self.source.strip():
            raise DomainValidationError("source", "must name the entrypoint, e.g. 'cli' or 'web'")


# A turn's timings key: 1.0 when its few-shot exemplars came from the cache, 0.0 when searched
# (absent when the dynamic prompt was off).
CACHE_HIT_TIMING = "exemplar_cache_hit"


@attrs.frozen(slots=True)
class FeedbackStats:
    """Counts of feedback by kind, and how the dynamic prompt's cache did over stored turns."""

    thumbs_up: int = attrs.field(default=0, validator=non_negative_int)
    thumbs_down: int = attrs.field(default=0, validator=non_negative_int)
    corrections: int = attrs.field(default=0, validator=non_negative_int)
    # Stored turns whose few-shot exemplars came from the cache / needed a search (every process
    # that chatted counts, since each turn records it in its timings under CACHE_HIT_TIMING).
    cache_hits: int = attrs.field(default=0, validator=non_negative_int)
    cache_misses: int = attrs.field(default=0, validator=non_negative_int)

    @property
    def total(self) -> int:
        """All feedback rows."""
        return self.thumbs_up + self.thumbs_down + self.corrections


@attrs.frozen(slots=True)
class GateStatus:
    """Whether training may start and how many corrections are still missing."""

    ready: bool
    corrections: int
    min_corrections: int

    @property
    def missing(self) -> int:
        """Corrections still needed (0 when ready)."""
        return max(0, self.min_corrections - self.corrections)

    def describe(self) -> str:
        """The line the CLI prints under the stats."""
        if self.ready:
            return f"ready for training ({self.corrections} corrections, min {self.min_corrections})"
        return f"{self.missing} more corrections needed for training (min {self.min_corrections})"


@attrs.frozen(slots=True)
class TrainingGate:
    """Training from feedback needs at least ``min_corrections`` corrections."""

    min_corrections: int = attrs.field(default=10, validator=positive_int)

    def evaluate(self, stats: FeedbackStats) -> GateStatus:
        """Open the gate once enough corrections exist."""
        return GateStatus(stats.corrections >= self.min_corrections, stats.corrections, self.min_corrections)
