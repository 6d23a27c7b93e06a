"""Loopback fakes of remote services, for tests and benchmarks (no network)."""

from tests.fakes.gemini_quota import Limits, RequestRecord, count_tokens, sample_responder
from tests.fakes.gemini_server import FakeGeminiServer

__all__ = ["FakeGeminiServer", "Limits", "RequestRecord", "count_tokens", "sample_responder"]
