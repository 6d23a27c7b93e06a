"""Scoring text on the resident model: validation loss the mlx-lm way, and completion log-probs.

A mixin of ``MlxLLMBackend``: both methods switch the requested adapter in on the one loaded
model (never a second load) and hold the backend's lock while they compute, so a concurrent
stream cannot swap another adapter in halfway through.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evotr.application.errors import AdapterNotRegisteredError
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.errors import EvoTrError
from evotr.domain.evaluation import LossResult
from evotr.infrastructure.mlx.answer_loss import training_loss
from evotr.infrastructure.mlx.completion_scoring import shared_prompt_scores

logger = logging.getLogger("evotr.mlx")


def _plain_prompt(messages: Sequence[dict[str, str]], add_generation_prompt: bool) -> str:
    """The 'role: content' prompt the backend writes for models without a chat template."""
    text = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
    return text + ("\nassistant:" if add_generation_prompt else "")


class _PlainChat:
    """Stands in for a tokenizer's ``apply_chat_template`` when the model has none, so mlx-lm's
    ``ChatDataset`` tokenises exactly the prompts that ``stream`` sends."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def apply_chat_template(self, messages: Sequence[dict[str, str]], *,
                            add_generation_prompt: bool = False, **_: Any) -> list[int]:
        if messages and messages[-1]["role"] == Role.ASSISTANT.value:
            text = _plain_prompt(messages[:-1], True) + " " + messages[-1]["content"]
        else:
            text = _plain_prompt(messages, add_generation_prompt)
        return [int(i) for i in self._tokenizer.encode(text)]


class ScoringMixin:
    """``loss`` and ``logprobs`` of the LLMBackend port, for ``MlxLLMBackend``."""

    _lock: threading.RLock
    _model: Any
    _tokenizer: Any
    _has_template: bool
    _split_of: tuple[Any, Any] | None

    if TYPE_CHECKING:  # provided by MlxLLMBackend
        def load(self) -> None: ...
        def registered_adapters(self) -> Sequence[AdapterVersion]: ...
        def _swapper(self) -> Any: ...

    def _head_split(self, probe: Sequence[int]) -> Any:
        """(body, head) of the resident model (``split_head``, checked once per loaded model), or None."""
        import mlx.core as mx

        from evotr.infrastructure.mlx.preference_loss import split_head

        cached = getattr(self, "_split_of", None)
        if cached is None or cached[0] is not self._model:
            cached = (self._model, split_head(self._model, mx.array(list(probe)[:16])[None]))
            self._split_of = cached
        return cached[1]

    def _chat_tokenizer(self) -> Any:
        return self._tokenizer if self._has_template else _PlainChat(self._tokenizer)

    def _switch(self, adapter: AdapterVersion | None) -> None:
        """Under the lock: make the resident model compute with ``adapter``."""
        if adapter is not None and adapter not in self.registered_adapters():
            raise AdapterNotRegisteredError(adapter, self.registered_adapters())
        self._swapper().activate(adapter)

    def loss(
        self,
        conversations: Sequence[Sequence[Message]],
        adapter: AdapterVersion | None = None,
        *,
        mask_prompt: bool = False,
        max_seq_length: int = 2048,
    ) -> LossResult:
        """mlx-lm's ``evaluate`` with its ``default_loss`` over every conversation (batch size 1,
        so no example is dropped), on mlx-lm's own ``ChatDataset`` tokenisation."""
        import numpy as np
        from mlx_lm.tuner import datasets, trainer

        self.load()
        tuner: Any = trainer
        data: Any = datasets
        rows = [{"messages": [m.as_dict() for m in conversation]} for conversation in conversations]
        if not rows:
            raise ValueError("no conversations to compute a loss on")
        dataset = data.CacheDataset(data.ChatDataset(rows, self._chat_tokenizer(), mask_prompt=mask_prompt))
        tokens = [0]
        # Logits only at the scored positions when the model splits into body and head (exact).
        scored, batches = training_loss(self._model, dataset[0][0], tuner.iterate_batches, tuner.default_loss)

        def counted(model: Any, *batch: Any) -> Any:
            value, ntoks = scored(model, *batch)
            tokens[0] += int(ntoks.item())
            return value, ntoks

        state = np.random.get_state()  # mlx-lm shuffles batches with numpy's global generator
        printed = io.StringIO()
        try:
            with self._lock, contextlib.redirect_stdout(printed):
                self._switch(adapter)
                value = float(tuner.evaluate(model=self._model, dataset=dataset, batch_size=1,
                                             num_batches=-1, max_seq_length=max_seq_length,
                                             loss=counted, iterate_batches=batches))
        finally:
            np.random.set_state(state)
        if printed.getvalue().strip():
            # mlx-lm prints truncation warnings; stdout may be the CLI's JSON, so they become logs.
            logger.warning("mlx-lm: %s", " ".join(printed.getvalue().split()))
        if tokens[0] == 0:  # every answer cut off by max_seq_length: 0/0, not a loss
            raise EvoTrError(
                f"no answer token of the {len(rows)} conversation(s) fits in max_seq_length="
                f"{max_seq_length} (the prompts are longer); raise max_seq_length")
        return LossResult(value, tokens[0])

    def logprobs(
        self,
        prompt: Sequence[Message],
        completions: Sequence[str],
        adapter: AdapterVersion | None = None,
    ) -> list[float]:
        """Sum of log p(token) over each completion's tokens (end of turn included), in nats.

        Tokenised by mlx-lm's ``ChatDataset`` with ``mask_prompt``: the prompt is the template
        with the generation prompt, the completion is everything after it.
        """
        import mlx.core as mx
        from mlx_lm.tuner import datasets

        self.load()
        data: Any = datasets
        head = [m.as_dict() for m in prompt]
        rows = [{"messages": [*head, {"role": "assistant", "content": text}]} for text in completions]
        dataset = data.ChatDataset(rows, self._chat_tokenizer(), mask_prompt=True)
        processed = [dataset.process(dataset[index]) for index in range(len(dataset))]
        for index, (tokens, offset) in enumerate(processed):
            if offset < 1 or offset >= len(tokens):
                raise ValueError(f"completion {index} adds no tokens after the prompt")
        scores: list[float] = []
        with self._lock:
            self._switch(adapter)
            split = self._head_split(processed[0][0])
            offsets = {offset for _, offset in processed}
            if len(offsets) == 1:  # one prompt: run it once for every completion
                shared = shared_prompt_scores(self._model, split, [t for t, _ in processed], offsets.pop())
                if shared is not None:
                    return shared
            for tokens, offset in processed:
                ids = mx.array(tokens)
                # Position t predicts token t+1: the completion's tokens are offset.. end, so only
                # positions offset-1.. need logits (all of them when the head cannot be split off).
                if split is None:
                    logits = self._model(ids[None, :-1])[0][offset - 1:]
                else:
                    logits = split[1](split[0](ids[None, :-1])[0][offset - 1:])
                logits = logits.astype(mx.float32)
                logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
                picked = mx.take_along_axis(logp, ids[offset:, None], axis=-1)[:, 0]
                total: Any = picked.sum().item()
                scores.append(float(total))
        return scores
