"""Small attrs validators shared by the value objects."""

from __future__ import annotations

import math
from enum import Enum
from typing import Any, TypeVar

import attrs

from evotr.domain.errors import DomainValidationError


def non_empty_text(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Reject non-strings and strings that are empty after stripping."""
    if not isinstance(value, str):
        raise DomainValidationError(attribute.name, f"must be text, got {type(value).__name__}")
    if not value.strip():
        raise DomainValidationError(attribute.name, "must not be empty")


def probability(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Reject anything that is not a finite float in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DomainValidationError(attribute.name, f"must be a number, got {value!r}")
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise DomainValidationError(attribute.name, f"must be between 0 and 1, got {value!r}")


def positive_int(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Reject bools, non-ints and values below 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DomainValidationError(attribute.name, f"must be a whole number >= 1, got {value!r}")


def non_negative_int(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Reject bools, non-ints and negative values."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DomainValidationError(attribute.name, f"must be a whole number >= 0, got {value!r}")


def aware_datetime(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Reject naive datetimes: stored times are always UTC-aware."""
    from datetime import datetime

    if not isinstance(value, datetime) or value.tzinfo is None:
        raise DomainValidationError(attribute.name, "must be a timezone-aware datetime")


E = TypeVar("E", bound=Enum)


def parse_enum(
    cls: type[E], name: str, field: str, what: str, error: type[DomainValidationError] = DomainValidationError
) -> E:
    """``cls(name)`` or ``error`` naming the field, the bad value and every valid one."""
    try:
        return cls(name)
    except ValueError:
        valid = ", ".join(str(m.value) for m in cls)
        raise error(field, f"unknown {what} {name!r}; valid: {valid}") from None
