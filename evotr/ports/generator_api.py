"""A text generator that writes training data (Gemma through google-genai, or local)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from evotr.domain.generation import GenerationRequest, GenerationResult


@runtime_checkable
class GeneratorAPI(Protocol):
    """Answers one prompt; implementations own their rate limiting and retries."""

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Generate text for ``request``."""
        ...
