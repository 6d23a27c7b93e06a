"""GeneratorAPI on the local model: training data without an API key (slower, no quota).

Generation is CPU/GPU-bound and the model is one resident object, so calls run one at a time
in a worker thread; the event loop stays free for the progress bar and the file writes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from evotr.application.errors import GenerationRejectedError
from evotr.domain.conversation import Message, Role
from evotr.domain.errors import DomainValidationError
from evotr.domain.generation import GenerationRequest, GenerationResult, GeneratorStats, TokenUsage
from evotr.domain.sampling import SamplingParams
from evotr.ports.generator_api import GeneratorAPI
from evotr.ports.llm_backend import LLMBackend


class LocalMlxGenerator(GeneratorAPI):
    """Answers each prompt as one user message to ``llm`` (base model, no adapter)."""

    def __init__(self, llm: LLMBackend, *, top_p: float = 0.95) -> None:
        self._llm = llm
        self._top_p = top_p
        # One model, one generation at a time, whatever the caller's concurrency.
        self._lock = threading.Lock()
        self._requests = 0
        self._rejected = 0
        self._prompt_tokens = 0
        self._output_tokens = 0
        self._started: float | None = None

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Run the model in a thread; usage comes from the tokenizer's counts."""
        if self._started is None:
            self._started = time.monotonic()
        try:
            params = SamplingParams(temperature=request.temperature, top_p=self._top_p,
                                    max_tokens=request.max_output_tokens)
        except DomainValidationError as exc:
            self._rejected += 1
            raise GenerationRejectedError(f"the local model cannot sample with {exc}") from exc
        return await asyncio.to_thread(self._generate, request, params)

    def _generate(self, request: GenerationRequest, params: SamplingParams) -> GenerationResult:
        messages = [Message(Role.USER, request.prompt)]
        with self._lock:
            text = self._llm.generate(messages, params)
            usage = TokenUsage(self._llm.count_tokens(messages), self._count_output(text))
            self._requests += 1
            self._prompt_tokens += usage.prompt_tokens
            self._output_tokens += usage.output_tokens
        return GenerationResult(text=text, usage=usage, model=self._llm.model_id)

    def _count_output(self, text: str) -> int:
        tokenizer: Any = getattr(self._llm, "tokenizer", None)
        if tokenizer is not None and hasattr(tokenizer, "encode"):
            try:
                return len(tokenizer.encode(text, add_special_tokens=False))
            except TypeError:  # a tokenizer without the Hugging Face keyword
                return len(tokenizer.encode(text))
        # Backends without a tokenizer (the in-memory one) count the reply as a message.
        return self._llm.count_tokens([Message(Role.ASSISTANT, text)]) if text.strip() else 0

    def stats(self) -> GeneratorStats:
        """Requests and tokens so far; a local model has no rate limits."""
        elapsed = 0.0 if self._started is None else time.monotonic() - self._started
        return GeneratorStats(requests=self._requests, prompt_tokens=self._prompt_tokens,
                              output_tokens=self._output_tokens, rejected=self._rejected,
                              elapsed_s=elapsed)
