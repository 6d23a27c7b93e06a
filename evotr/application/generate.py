"""Use case: one prompt through the LLM port with the persona (the demo's smoke test)."""

from __future__ import annotations

import time

import attrs

from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.sampling import SamplingParams
from evotr.ports.llm_backend import LLMBackend


@attrs.frozen(slots=True)
class Generated:
    """Generated text with its prompt size and timings."""

    text: str
    prompt_tokens: int
    load_ms: float
    generate_ms: float


class GenerateOnce:
    """Persona + one user message → reply, with no history and no routing."""

    def __init__(self, llm: LLMBackend, persona: str, sampling: SamplingParams) -> None:
        self._llm = llm
        self._persona = persona
        self._sampling = sampling

    def execute(self, text: str, adapter: AdapterVersion | None = None) -> Generated:
        """Load the model if needed, then generate."""
        started = time.perf_counter()
        self._llm.load()
        loaded = time.perf_counter()
        messages = (Message(Role.SYSTEM, self._persona), Message(Role.USER, text))
        reply = self._llm.generate(messages, self._sampling, adapter)
        done = time.perf_counter()
        return Generated(
            text=reply,
            prompt_tokens=self._llm.count_tokens(messages),
            load_ms=(loaded - started) * 1000,
            generate_ms=(done - loaded) * 1000,
        )
