"""A canned GeneratorAPI: answers with JSON samples, counts tokens by words, records requests."""

from __future__ import annotations

import json
from collections.abc import Sequence

from evotr.domain.generation import GenerationRequest, GenerationResult, GeneratorStats, TokenUsage
from evotr.ports.generator_api import GeneratorAPI


class InMemoryGenerator(GeneratorAPI):
    """Cycles through ``replies`` if given, else builds a sample from the prompt."""

    def __init__(self, replies: Sequence[str] | None = None) -> None:
        self._replies = list(replies or [])
        self.requests: list[GenerationRequest] = []
        self._prompt_tokens = 0
        self._output_tokens = 0

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Record the request and answer it."""
        self.requests.append(request)
        if self._replies:
            text = self._replies[(len(self.requests) - 1) % len(self._replies)]
        else:
            n = len(self.requests)
            # A fenced python block lets code categories validate with this backend too.
            answer = f"Örnek yanıt {n}.\n\n```python\nprint({n})\n```"
            text = json.dumps({"user": f"Örnek soru {n}: {request.prompt[:60]}", "assistant": answer},
                              ensure_ascii=False)
        usage = TokenUsage(len(request.prompt.split()), len(text.split()))
        self._prompt_tokens += usage.prompt_tokens
        self._output_tokens += usage.output_tokens
        return GenerationResult(text=text, usage=usage, model=request.model)

    def stats(self) -> GeneratorStats:
        """Counts of what was asked so far."""
        return GeneratorStats(requests=len(self.requests), prompt_tokens=self._prompt_tokens,
                              output_tokens=self._output_tokens)
