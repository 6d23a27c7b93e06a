"""How text is sampled from the model."""

from __future__ import annotations

from typing import Any

import attrs

from evotr.domain.errors import DomainValidationError
from evotr.domain.validation import positive_int, probability


def _temperature(_inst: object, _attr: object, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 5.0:
        raise DomainValidationError("temperature", f"must be between 0 and 5, got {value!r}")


def _seed(_inst: object, _attr: object, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise DomainValidationError("seed", f"must be a whole number >= 0 or null, got {value!r}")


@attrs.frozen(slots=True)
class SamplingParams:
    """Temperature 0 means greedy decoding; ``seed`` makes sampling repeatable."""

    temperature: float = attrs.field(default=0.7, validator=_temperature)
    top_p: float = attrs.field(default=0.9, validator=probability)
    max_tokens: int = attrs.field(default=512, validator=positive_int)
    seed: int | None = attrs.field(default=None, validator=_seed)
