"""One key's limits and what a request is expected to cost.

Token estimate (reserved before sending): one token per 3 prompt characters, rounded up, plus
``max_output_tokens`` (the most the answer can cost). Gemma's tokenizer usually needs more than 3
characters per token on English and Turkish text, so this over-reserves; the lease is corrected
with the real ``usageMetadata`` count once the answer arrives.
"""

from __future__ import annotations

import math

import attrs


def estimate_tokens(prompt: str, max_output_tokens: int) -> int:
    """Tokens to reserve for one request: ``ceil(len(prompt) / 3) + max_output_tokens``."""
    return math.ceil(len(prompt) / 3) + max(0, max_output_tokens)


def _positive(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


@attrs.frozen
class Budget:
    """One key's limits (Google's free tier for Gemma by default)."""

    rpm: int = attrs.field(default=30, validator=_positive)
    tpm: int = attrs.field(default=15_000, validator=_positive)
    rpd: int = attrs.field(default=14_400, validator=_positive)


@attrs.frozen
class KeyUsage:
    """What one key has in its windows now."""

    requests: int
    tokens: int
    today: int
