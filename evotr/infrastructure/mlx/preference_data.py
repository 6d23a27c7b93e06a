"""Preference pairs as token arrays: the same tokens the gate scores, padded into batches.

Each answer is tokenised exactly as ``MlxLLMBackend.logprobs`` does it (mlx-lm's ``ChatDataset``
with ``mask_prompt``: the chat template of prompt + assistant answer; the completion is
everything after the prompt with its generation prompt, end of turn included), so the
log-probabilities DPO raises are the ones the promotion gate measures.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evotr.domain.evaluation import PreferencePair
from evotr.infrastructure.mlx.errors import TrainingError
from evotr.infrastructure.mlx.scoring import _PlainChat

logger = logging.getLogger("evotr.mlx")


@dataclass(frozen=True)
class Encoded:
    """One tokenised answer: ``tokens`` and ``offset``, the index of the completion's first token."""

    tokens: tuple[int, ...]
    offset: int


@dataclass(frozen=True)
class TokenPair:
    """A pair's chosen and rejected answers after the same prompt."""

    chosen: Encoded
    rejected: Encoded
    where: str


def chat_tokenizer(tokenizer: Any) -> Any:
    """The tokenizer itself when it has a chat template, else the backend's plain-prompt stand-in."""
    return tokenizer if getattr(tokenizer, "has_chat_template", False) else _PlainChat(tokenizer)


def _encode(dataset: Any, messages: list[dict[str, str]], answer: str, max_seq_length: int,
            where: str) -> Encoded:
    tokens, offset = dataset.process({"messages": [*messages, {"role": "assistant", "content": answer}]})
    tokens = [int(t) for t in tokens]
    if offset < 1 or offset >= len(tokens):
        raise TrainingError(f"pair {where}: the answer {answer[:40]!r} adds no token after the prompt")
    if offset >= max_seq_length:
        raise TrainingError(f"pair {where}: its prompt alone has {offset} tokens, max_seq_length is "
                            f"{max_seq_length}; raise max_seq_length or shorten the conversation")
    if len(tokens) > max_seq_length:
        logger.warning("pair %s: %d tokens, cut to max_seq_length=%d (the answer's end is not trained)",
                       where, len(tokens), max_seq_length)
        tokens = tokens[:max_seq_length]
    return Encoded(tuple(tokens), offset)


def tokenize_pairs(pairs: Sequence[PreferencePair], tokenizer: Any, max_seq_length: int) -> list[TokenPair]:
    """Tokenise every pair (TrainingError names the pair that cannot be trained on)."""
    from mlx_lm.tuner import datasets

    data: Any = datasets
    dataset = data.ChatDataset([], chat_tokenizer(tokenizer), mask_prompt=True)
    found = []
    for number, pair in enumerate(pairs, start=1):
        where = pair.where or f"#{number}"
        messages = [m.as_dict() for m in pair.messages()]
        found.append(TokenPair(_encode(dataset, messages, pair.chosen, max_seq_length, where),
                               _encode(dataset, messages, pair.rejected, max_seq_length, where), where))
    return found


def pad_batch(pairs: Sequence[TokenPair]) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, mask) for a batch: rows are every chosen answer, then every rejected one.

    ``tokens`` (2n, T) is zero-padded on the right; ``mask`` (2n, T−1) is 1 where a target
    (``tokens[:, 1:]``) belongs to the completion: target positions ``offset−1 .. len−2``.
    """
    rows = [p.chosen for p in pairs] + [p.rejected for p in pairs]
    width = max(len(r.tokens) for r in rows)
    tokens = np.zeros((len(rows), width), dtype=np.int32)
    mask = np.zeros((len(rows), width - 1), dtype=np.float32)
    for i, row in enumerate(rows):
        tokens[i, :len(row.tokens)] = row.tokens
        mask[i, row.offset - 1:len(row.tokens) - 1] = 1.0
    return tokens, mask


def batch_order(count: int, batch_size: int, iterations: int, seed: int) -> list[list[int]]:
    """Pair indices of each iteration: shuffled epochs (numpy, ``seed``), batches never straddle two.

    A batch holds ``min(batch_size, count)`` pairs; the last partial batch of an epoch is kept
    when it is the only way to see every pair (as many DPO trainers drop it, it is merged instead).
    """
    rng = np.random.default_rng(seed)
    size = min(batch_size, count)
    batches: list[list[int]] = []
    while len(batches) < iterations:
        order = [int(i) for i in rng.permutation(count)]
        epoch = [order[i:i + size] for i in range(0, count, size)]
        if len(epoch) > 1 and len(epoch[-1]) < size:
            epoch[-2].extend(epoch.pop())  # a short tail joins the batch before it
        batches.extend(epoch)
    return batches[:iterations]
