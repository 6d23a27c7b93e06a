"""Greedy decodes of several modes interleaved a few tokens at a time (issue 14, GPU noise).

On the lent GPU machine the speed of the whole process swings in phases of seconds (a plain
model measured 250 tok/s in one repetition and 164 in the next, and a whole run at half the
speed of a run an hour earlier), so modes decoded one after the other within a repetition still
meet different phases. Here every mode keeps its own ``generate_step`` (its own KV cache) and
the modes take turns, ``chunk`` tokens each (the order reversed every other round): a phase
then hits every mode alike, and what is compared is the typical gap between two tokens of one
mode within one of its chunks.

The first gap of every chunk is left out: around a turn the device may still be finishing the
token the previous mode had queued (``generate_step`` always computes one token ahead), and the
switch (``enter``) happens there. Modes that share one model (the backend's "none" and
"adapter", or a variant installed into the plain model) are switched by ``enter``/``leave``
between chunks; the graph of a mode's token queued ahead was built with that mode's modules,
so the switch cannot leak into another mode's tokens.
"""

from __future__ import annotations

import gc
import itertools
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any


def chunked_decodes(modes: Sequence[str], enter: Callable[[str], Any], leave: Callable[[], None],
                    prompt: list[int], tokens: int, chunk: int) -> dict[str, tuple[float, float, list[int]]]:
    """Per mode: (mean tok/s, steady tok/s, the tokens) of ``tokens`` greedy tokens.

    ``mean`` is the kept gaps' count over their sum, ``steady`` one over their median; both
    leave out the prefill and the first gap of every chunk. ``chunk`` must be at least 3
    (two kept gaps a chunk).
    """
    import mlx.core as mx
    from mlx_lm.generate import generate_step

    if chunk < 3:
        raise ValueError(f"chunk must be at least 3 tokens, got {chunk}")
    gc.collect()
    steps: dict[str, Iterator[Any]] = {}
    out: dict[str, list[int]] = {mode: [] for mode in modes}
    gaps: dict[str, list[float]] = {mode: [] for mode in modes}
    rounds = -(-tokens // chunk)
    for index in range(rounds):
        for mode in modes if index % 2 == 0 else list(reversed(modes)):
            model = enter(mode)
            if mode not in steps:
                steps[mode] = generate_step(mx.array(prompt), model, max_tokens=tokens)
            stamps = []
            for _ in range(min(chunk, tokens - len(out[mode]))):
                token, _logprobs = next(steps[mode])
                out[mode].append(int(token))
                stamps.append(time.perf_counter())
            leave()
            gaps[mode].extend([b - a for a, b in itertools.pairwise(stamps)][1:])
    for step in steps.values():  # let each generator finish its token queued ahead
        for _ in step:
            pass
    return {mode: (len(kept) / sum(kept), 1 / statistics.median(kept), out[mode])
            for mode, kept in gaps.items()}
