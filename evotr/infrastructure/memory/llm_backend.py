"""A fake LLMBackend: deterministic replies, words as tokens, every call recorded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from evotr.application.errors import AdapterNotRegisteredError
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.evaluation import LossResult
from evotr.domain.sampling import SamplingParams
from evotr.ports.llm_backend import LLMBackend

# Chat templates add role markers and separators to every message; four tokens stands in for that.
MESSAGE_OVERHEAD = 4


class InMemoryLLMBackend(LLMBackend):
    """Cycles through ``replies`` if given, else answers from the last user message.

    A token is a whitespace-separated word, so ``max_tokens`` cuts the reply after that many
    words. ``calls`` holds ``(messages, adapter)`` for every ``stream``/``generate`` call.
    Scores are made up but deterministic: ``logprobs`` is minus the completion's word count
    (shorter answers are "more likely") and ``loss`` is ``losses[adapter]`` (default 1.0).
    """

    def __init__(self, model_id: str = "memory", replies: Sequence[str] | None = None) -> None:
        self._model_id = model_id
        self._replies = list(replies or [])
        self.calls: list[tuple[tuple[Message, ...], AdapterVersion | None]] = []
        self.loaded = False
        self.adapters: dict[AdapterVersion, Path] = {}
        self.losses: dict[AdapterVersion | None, float] = {}

    @property
    def model_id(self) -> str:
        """The name given at construction."""
        return self._model_id

    def load(self) -> None:
        """Nothing to load; only remembers that it was asked to."""
        self.loaded = True

    def register_adapter(self, version: AdapterVersion, path: Path) -> None:
        """Remember the version and its folder (nothing is read)."""
        self.adapters[version] = path

    def registered_adapters(self) -> Sequence[AdapterVersion]:
        """Versions registered so far, in order."""
        return list(self.adapters)

    def _reply(self, messages: Sequence[Message], adapter: AdapterVersion | None) -> str:
        if self._replies:
            return self._replies[(len(self.calls) - 1) % len(self._replies)]
        last_user = next((m.content for m in reversed(messages) if m.role is Role.USER), "")
        source = adapter.name if adapter is not None else "base"
        return f"[{source}] Mesajını aldım: {last_user}"

    def stream(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        adapter: AdapterVersion | None = None,
    ) -> Iterator[str]:
        """Record the call and yield the reply's first ``params.max_tokens`` words."""
        if adapter is not None and adapter not in self.adapters:
            raise AdapterNotRegisteredError(adapter, list(self.adapters))
        self.load()
        self.calls.append((tuple(messages), adapter))
        words = self._reply(messages, adapter).split()[: params.max_tokens]
        # Pieces keep their leading space, as real detokenizers emit them, so joining is exact.
        return iter([word if i == 0 else f" {word}" for i, word in enumerate(words)])

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Whitespace words of every message plus a fixed overhead per message."""
        return sum(len(m.content.split()) + MESSAGE_OVERHEAD for m in messages)

    def _check(self, adapter: AdapterVersion | None) -> None:
        if adapter is not None and adapter not in self.adapters:
            raise AdapterNotRegisteredError(adapter, list(self.adapters))

    def loss(
        self,
        conversations: Sequence[Sequence[Message]],
        adapter: AdapterVersion | None = None,
        *,
        mask_prompt: bool = False,
        max_seq_length: int = 2048,
    ) -> LossResult:
        """``losses.get(adapter, 1.0)`` over the words of the scored messages."""
        self._check(adapter)
        scored = [c[-1:] if mask_prompt else c for c in conversations]
        words = sum(len(m.content.split()) for c in scored for m in c)
        return LossResult(self.losses.get(adapter, 1.0), words)

    def logprobs(
        self,
        prompt: Sequence[Message],
        completions: Sequence[str],
        adapter: AdapterVersion | None = None,
    ) -> list[float]:
        """Minus each completion's word count, whatever the prompt and adapter."""
        self._check(adapter)
        return [-float(len(text.split())) for text in completions]
