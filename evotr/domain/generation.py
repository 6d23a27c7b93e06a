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
