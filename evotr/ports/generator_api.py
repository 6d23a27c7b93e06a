"""A text generator that writes training data (Gemma through google-genai, or local)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from evotr.domain.generation import GenerationRequest, GenerationResult, GeneratorStats


@runtime_checkable
class GeneratorAPI(Protocol):
    """Answers one prompt; implementations own their rate limiting and retries."""

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Generate text for ``request``.

        Raises GenerationRejectedError for a request that can never succeed (skip it) and
        GenerationQuotaExhaustedError when no key can send any more (stop the run cleanly).
        """
        ...

    def stats(self) -> GeneratorStats:
        """Requests, tokens and errors so far (for the run summary)."""
        ...
