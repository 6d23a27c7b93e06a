"""Use case: preference accuracy of a model on (prompt, chosen, rejected) pairs.

`adapters compare --pairs` uses it for the base model and two versions; the learning loop's
promotion gate uses it to judge a candidate against the active version on held-out feedback.
"""

from __future__ import annotations

from collections.abc import Sequence

from evotr.domain.adapters import AdapterVersion
from evotr.domain.evaluation import PreferencePair, PreferenceResult, preference_result
from evotr.ports.llm_backend import LLMBackend


class PreferenceAccuracy:
    """Share of pairs where the model gives ``chosen`` a strictly higher log-probability than ``rejected``.

    Both answers are scored as the assistant's reply to the pair's prompt (optionally after a
    ``system`` message), on the one resident model with ``adapter`` switched in.
    """

    def __init__(self, llm: LLMBackend) -> None:
        self._llm = llm

    def execute(
        self,
        pairs: Sequence[PreferencePair],
        adapter: AdapterVersion | None = None,
        *,
        system: str | None = None,
    ) -> PreferenceResult:
        """Score every pair; no pairs gives accuracy 0.0 over 0 pairs."""
        chosen: list[float] = []
        rejected: list[float] = []
        for pair in pairs:
            good, bad = self._llm.logprobs(pair.messages(system),
                                           [pair.chosen, pair.rejected], adapter)
            chosen.append(good)
            rejected.append(bad)
        return preference_result(chosen, rejected)
