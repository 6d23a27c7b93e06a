"""Gemma on the Gemini API (google-genai): API keys, per-key rate limits and the generator."""

from evotr.infrastructure.gemma.failures import EndpointUnreachableError, NoUsableKeyError, RequestLogError
from evotr.infrastructure.gemma.generator import (
    BASE_URL_VARIABLE,
    DEFAULT_API_VERSION,
    DEFAULT_MODEL,
    GemmaGenerator,
    gemma_generator_from_env,
)
from evotr.infrastructure.gemma.keys import ApiKey, NoApiKeysError, load_api_keys
from evotr.infrastructure.gemma.limiter import Budget, KeyPool, Lease, estimate_tokens
from evotr.infrastructure.gemma.quota_day import next_daily_reset
from evotr.infrastructure.gemma.request_log import SqliteRequestLog

__all__ = [
    "BASE_URL_VARIABLE",
    "DEFAULT_API_VERSION",
    "DEFAULT_MODEL",
    "ApiKey",
    "Budget",
    "EndpointUnreachableError",
    "GemmaGenerator",
    "KeyPool",
    "Lease",
    "NoApiKeysError",
    "NoUsableKeyError",
    "RequestLogError",
    "SqliteRequestLog",
    "estimate_tokens",
    "gemma_generator_from_env",
    "load_api_keys",
    "next_daily_reset",
]
