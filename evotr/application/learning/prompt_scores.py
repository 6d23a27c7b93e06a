"""Log-probs for the gate, one model call per distinct prompt.

The gate asks two questions of every trained turn: does the correction beat the original answer
(a preference pair), and does it beat other turns' corrections (the matched check)? Both score
completions of the same prompt, so they are asked together: the backend runs that prompt once
for all of them (see the MLX backend's shared-prompt scoring), instead of twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message
from evotr.ports.llm_backend import LLMBackend

Prompt = tuple[Message, ...]


class PromptScores:
    """Every requested (prompt, completion) log-prob, computed with one ``logprobs`` call per prompt."""

    def __init__(self, llm: LLMBackend, adapter: AdapterVersion | None,
                 requests: Iterable[tuple[Sequence[Message], Sequence[str]]]) -> None:
        wanted: dict[Prompt, list[str]] = {}
        for messages, completions in requests:
            texts = wanted.setdefault(tuple(messages), [])
            texts.extend(c for c in completions if c not in texts)
        self._scores: dict[tuple[Prompt, str], float] = {}
        for prompt, texts in wanted.items():
            for text, score in zip(texts, llm.logprobs(list(prompt), texts, adapter), strict=True):
                self._scores[(prompt, text)] = score

    def __call__(self, messages: Sequence[Message], completion: str) -> float:
        """The log-prob of ``completion`` after ``messages`` (it must have been requested)."""
        return self._scores[(tuple(messages), completion)]
