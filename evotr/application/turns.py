"""Use case: persist an answered turn so feedback can refer to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message
from evotr.domain.intents import IntentPrediction
from evotr.domain.sampling import SamplingParams
from evotr.domain.turns import TurnId, TurnRecord
from evotr.ports.feedback_repository import FeedbackRepository


class SaveTurn:
    """Stores prompt, reply, routing decision, adapter version, and what was sent, in one transaction."""

    def __init__(self, repository: FeedbackRepository) -> None:
        self._repository = repository

    def execute(
        self,
        prompt: str,
        reply: str,
        route: IntentPrediction,
        adapter: AdapterVersion | None,
        *,
        session_id: str = "default",
        source: str = "cli",
        timings_ms: Mapping[str, float] | None = None,
        messages: Sequence[Message] = (),
        sampling: SamplingParams | None = None,
    ) -> TurnId:
        """Return the new turn's id; ``messages`` are those the model was sent, the prompt last."""
        turn = TurnRecord(
            prompt=prompt,
            reply=reply,
            intent=route.intent,
            confidence=route.confidence,
            fallback=route.fallback,
            adapter=adapter,
            session_id=session_id,
            source=source,
            timings_ms=dict(timings_ms or {}),
            messages=tuple(messages),
            sampling=sampling,
        )
        return self._repository.add_turn(turn)
