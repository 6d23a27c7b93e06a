"""The language model: one resident base model, optionally with a LoRA adapter."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message
from evotr.domain.evaluation import LossResult
from evotr.domain.sampling import SamplingParams


@runtime_checkable
class LLMBackend(Protocol):
    """Generates replies; implementations load the base model once, lazily."""

    @property
    def model_id(self) -> str:
        """Hub id or local path of the base model."""
        ...

    def load(self) -> None:
        """Load the base model now (idempotent); errors say how to fix the model path."""
        ...

    def register_adapter(self, version: AdapterVersion, path: Path) -> None:
        """Read an mlx-lm adapter folder's weights into memory once; the base model stays loaded."""
        ...

    def registered_adapters(self) -> Sequence[AdapterVersion]:
        """Versions ready to switch to, in registration order."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        adapter: AdapterVersion | None = None,
    ) -> Iterator[str]:
        """Yield the reply's text piece by piece; ``adapter=None`` is the base model.

        A registered ``adapter`` is switched in without reloading the model; an unregistered
        one is an error naming it.
        """
        ...

    def generate(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        adapter: AdapterVersion | None = None,
    ) -> str:
        """The whole reply at once (by default the stream's pieces joined)."""
        return "".join(self.stream(messages, params, adapter))

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens of ``messages`` once the chat template is applied."""
        ...

    def loss(
        self,
        conversations: Sequence[Sequence[Message]],
        adapter: AdapterVersion | None = None,
        *,
        mask_prompt: bool = False,
        max_seq_length: int = 2048,
    ) -> LossResult:
        """Mean per-token cross-entropy of chat ``conversations`` as ``mlx_lm lora`` validates.

        ``mask_prompt`` counts only the last (assistant) message's tokens, as mlx-lm's option
        of that name. The same resident model computes it, with ``adapter`` switched in.
        """
        ...

    def logprobs(
        self,
        prompt: Sequence[Message],
        completions: Sequence[str],
        adapter: AdapterVersion | None = None,
    ) -> list[float]:
        """Summed log-probability (nats) of each completion as the assistant's reply to ``prompt``.

        The reply is scored as the chat template writes an assistant turn (end-of-turn token
        included), so two completions of one prompt compare fairly.
        """
        ...
