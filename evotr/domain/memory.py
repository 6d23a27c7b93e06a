"""Long-term memory records kept in a vector store."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from evotr.domain.errors import DomainValidationError
from evotr.domain.validation import non_empty_text

MetadataValue = str | int | float | bool


def _vector(value: object) -> tuple[float, ...]:
    return tuple(float(x) for x in value)  # type: ignore[attr-defined]


def _metadata(value: Mapping[str, MetadataValue]) -> Mapping[str, MetadataValue]:
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, (str, int, float, bool)):
            raise DomainValidationError("metadata", f"{key!r} must map to str, int, float or bool")
    return MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class MemoryRecord:
    """A piece of text worth remembering, with its embedding."""

    id: str = attrs.field(validator=non_empty_text)
    text: str = attrs.field(validator=non_empty_text)
    embedding: tuple[float, ...] = attrs.field(converter=_vector)
    metadata: Mapping[str, MetadataValue] = attrs.field(factory=dict, converter=_metadata)

    def __attrs_post_init__(self) -> None:
        if not self.embedding:
            raise DomainValidationError("embedding", "must not be empty")


@attrs.frozen(slots=True)
class MemoryHit:
    """A record returned by a similarity query; higher score = more similar."""

    record: MemoryRecord
    score: float
