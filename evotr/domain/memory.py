"""Long-term memory records kept in a vector store."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

import attrs

from evotr.domain.errors import DomainValidationError
from evotr.domain.intents import Intent
from evotr.domain.validation import non_empty_text, non_negative_int, parse_enum

MetadataValue = str | int | float | bool


def _vector(value: object) -> tuple[float, ...]:
    # map(float, ...) runs in C: a 512-d vector converts in microseconds, not a Python loop's tens.
    return tuple(map(float, value))  # type: ignore[call-overload]


def _metadata(value: Mapping[str, MetadataValue]) -> Mapping[str, MetadataValue]:
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, (str, int, float, bool)):
            raise DomainValidationError("metadata", f"{key!r} must map to str, int, float or bool")
    return MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class MemoryRecord:
    """A piece of text worth remembering, with its embedding.

    ``embedding`` is empty only in what :meth:`VectorStore.nearest` returns: ranking needs the
    text, metadata and similarity, and fetching hundreds of floats per hit costs milliseconds
    a turn. Such a record cannot be written back (:meth:`require_vector`).
    """

    id: str = attrs.field(validator=non_empty_text)
    text: str = attrs.field(validator=non_empty_text)
    embedding: tuple[float, ...] = attrs.field(converter=_vector)
    metadata: Mapping[str, MetadataValue] = attrs.field(factory=dict, converter=_metadata)

    def require_vector(self) -> MemoryRecord:
        """This record, refused when it carries no embedding (a store cannot write it)."""
        if not self.embedding:
            raise DomainValidationError("embedding", f"record {self.id!r} has no embedding to store")
        return self


@attrs.frozen(slots=True)
class MemoryHit:
    """A record returned by a similarity query; higher score = more similar."""

    record: MemoryRecord
    score: float


class MemoryKind(StrEnum):
    """What a stored record is: a fact about the user, a past exchange, or a few-shot exemplar."""

    FACT = "fact"
    EXCHANGE = "exchange"
    EXEMPLAR = "exemplar"


def _kind(value: object) -> MemoryKind:
    return parse_enum(MemoryKind, str(value), "kind", "memory kind")


def _intent(value: object) -> Intent | None:
    return None if value is None else parse_enum(Intent, str(value), "intent", "intent")


# The metadata keys every stored record carries; stores filter on them (``where``).
SESSION, INTENT, KIND, TIME, RECALL_COUNT, LAST_RECALLED = (
    "session", "intent", "kind", "time", "recall_count", "last_recalled",
)


@attrs.frozen(slots=True)
class MemoryMetadata:
    """The standard metadata of a record: where it came from and how often it was recalled.

    Times are Unix seconds (floats), so that a store can filter and sort on them (eviction of
    the least recently recalled). ``last_recalled`` starts as ``time``. ``extra`` carries any
    other keys a use case adds (e.g. what superseded a fact); it may not reuse a standard key.
    """

    session: str = attrs.field(validator=non_empty_text)
    kind: MemoryKind = attrs.field(converter=_kind)
    time: float = attrs.field(converter=float)
    intent: Intent | None = attrs.field(default=None, converter=_intent)
    recall_count: int = attrs.field(default=0, validator=non_negative_int)
    last_recalled: float = attrs.field(converter=float)
    extra: Mapping[str, MetadataValue] = attrs.field(factory=dict, converter=_metadata)

    @last_recalled.default
    def _never_recalled(self) -> float:
        return self.time

    def __attrs_post_init__(self) -> None:
        clash = sorted(set(self.extra) & set(_STANDARD))
        if clash:
            raise DomainValidationError("extra", f"{', '.join(clash)} is a standard metadata key")

    def recalled(self, now: float) -> MemoryMetadata:
        """The metadata after one more recall at ``now``."""
        return attrs.evolve(self, recall_count=self.recall_count + 1, last_recalled=float(now))

    def to_metadata(self) -> dict[str, MetadataValue]:
        """The flat mapping a vector store keeps (stores take no None: an unset intent is left out)."""
        flat: dict[str, MetadataValue] = {
            **self.extra, SESSION: self.session, KIND: self.kind.value, TIME: self.time,
            RECALL_COUNT: self.recall_count,
            LAST_RECALLED: self.last_recalled,
        }
        if self.intent is not None:
            flat[INTENT] = self.intent.value
        return flat

    @classmethod
    def from_metadata(cls, flat: Mapping[str, MetadataValue]) -> MemoryMetadata:
        """Read back what :meth:`to_metadata` wrote; a missing or bad standard key is an error."""
        missing = [key for key in (SESSION, KIND, TIME) if key not in flat]
        if missing:
            raise DomainValidationError("metadata", f"missing {', '.join(missing)}")
        intent = flat.get(INTENT)
        time = float(flat[TIME])
        return cls(
            session=str(flat[SESSION]), kind=str(flat[KIND]), time=time,
            intent=None if intent is None else str(intent),
            recall_count=int(flat.get(RECALL_COUNT, 0)),
            last_recalled=float(flat.get(LAST_RECALLED, time)),
            extra={k: v for k, v in flat.items() if k not in _STANDARD},
        )


_STANDARD = (SESSION, INTENT, KIND, TIME, RECALL_COUNT, LAST_RECALLED)
