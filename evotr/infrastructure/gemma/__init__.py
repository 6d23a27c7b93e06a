"""Gemma on the Gemini API (google-genai): API keys, per-key rate limits and the generator."""

from evotr.infrastructure.gemma.generator import (
    BASE_URL_VARIABLE,
    DEFAULT_API_VERSION,
    DEFAULT_MODEL,
    GemmaGenerator,
    gemma_generator_from_env,
)
from evotr.infrastructure.gemma.keys import ApiKey, NoApiKeysError, load_api_keys
from evotr.infrastructure.gemma.limiter import Budget, KeyPool, Lease, estimate_tokens, next_daily_reset

__all__ = [
    "BASE_URL_VARIABLE",
    "DEFAULT_API_VERSION",
    "DEFAULT_MODEL",
    "ApiKey",
    "Budget",
    "GemmaGenerator",
    "KeyPool",
    "Lease",
    "NoApiKeysError",
    "estimate_tokens",
    "gemma_generator_from_env",
    "load_api_keys",
    "next_daily_reset",
]
