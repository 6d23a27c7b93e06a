"""Requests to a remote or local text generator used to make training data."""

from __future__ import annotations

import attrs

from evotr.domain.validation import non_empty_text, non_negative_int


@attrs.frozen(slots=True)
class TokenUsage:
    """Tokens counted by the generator (prompt in, candidates out)."""

    prompt_tokens: int = attrs.field(default=0, validator=non_negative_int)
    output_tokens: int = attrs.field(default=0, validator=non_negative_int)

    @property
    def total(self) -> int:
        """Tokens counted against a tokens-per-minute budget."""
        return self.prompt_tokens + self.output_tokens


@attrs.frozen(slots=True)
class GenerationRequest:
    """One prompt for the data generator (instructions live in the user turn)."""

    prompt: str = attrs.field(validator=non_empty_text)
    model: str = attrs.field(validator=non_empty_text)
    temperature: float = 1.0
    max_output_tokens: int = 1024


@attrs.frozen(slots=True)
class GenerationResult:
    """What the generator answered, with its token usage."""

    text: str
    usage: TokenUsage = attrs.field(factory=TokenUsage)
    model: str = ""


@attrs.frozen(slots=True)
class GeneratorStats:
    """What a generator has done so far: the run summary's numbers."""

    requests: int = 0
    prompt_tokens: int = 0
    output_tokens: int = 0
    rate_limited_minute: int = 0
    rate_limited_day: int = 0
    server_errors: int = 0
    rejected: int = 0
    elapsed_s: float = 0.0
    allowed_rpm: float | None = None
    allowed_tpm: float | None = None

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-ready numbers."""
        return attrs.asdict(self)
