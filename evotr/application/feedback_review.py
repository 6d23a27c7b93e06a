"""Use cases: list judged turns by their current verdict, and show one turn with its whole history.

The rule they show: every verdict is kept, the latest one on a turn is the one that counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import attrs

from evotr.application.adapters import require_family
from evotr.application.errors import UnknownTurnError
from evotr.domain.adapters import AdapterFamily
from evotr.domain.feedback import Feedback, FeedbackKind, to_feedback_kind
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.intents import Intent
from evotr.domain.judged_turn import latest_verdicts
from evotr.domain.turns import TurnRecord, parse_turn_id
from evotr.ports.feedback_repository import FeedbackRepository


def _feedback_dict(feedback: Feedback, current: bool) -> dict[str, object]:
    return {"kind": feedback.kind.value, "correction": feedback.correction, "source": feedback.source,
            "intent": None if feedback.intent is None else feedback.intent.value,
            "created_at": feedback.created_at.isoformat(), "current": current}


def _verdicts(value: Iterable[Feedback]) -> tuple[Feedback, ...]:
    return tuple(value)


@attrs.frozen(slots=True)
class JudgedTurn:
    """A stored turn, its current verdict (None if never judged) and every verdict, oldest first."""

    turn: TurnRecord
    history: tuple[Feedback, ...] = attrs.field(converter=_verdicts)
    family: AdapterFamily | None = None

    @property
    def verdict(self) -> Feedback | None:
        """The latest verdict: the one stats and training count."""
        return self.history[-1] if self.history else None

    @property
    def intent(self) -> Intent:
        """The intent the answer is for: a correction's stated intent, else the routed one."""
        verdict = self.verdict
        return verdict.intent if verdict is not None and verdict.intent is not None else self.turn.intent

    def as_dict(self, *, full: bool = False) -> dict[str, object]:
        """The JSON shape of `feedback list --json` (``full``: `feedback show --json`)."""
        verdict = self.verdict
        data: dict[str, object] = {
            "turn_id": self.turn.id,
            "kind": None if verdict is None else verdict.kind.value,
            "judged_at": None if verdict is None else verdict.created_at.isoformat(),
            "prompt": self.turn.prompt,
            "reply": self.turn.reply,
            "correction": None if verdict is None else verdict.correction,
            "routed_intent": self.turn.intent.value,
            "intent": self.intent.value,
            "family": None if self.family is None else self.family.name,
            "adapter": None if self.turn.adapter is None else self.turn.adapter.name,
            "verdicts": len(self.history),
        }
        if full:
            sampling = self.turn.sampling
            data.update({
                "created_at": self.turn.created_at.isoformat(),
                "session_id": self.turn.session_id,
                "source": self.turn.source,
                "confidence": self.turn.confidence,
                "fallback": self.turn.fallback,
                "messages": [m.as_dict() for m in self.turn.sent_messages],
                "messages_recorded": bool(self.turn.messages),
                "sampling": None if sampling is None else attrs.asdict(sampling),
                "history": [_feedback_dict(f, n == len(self.history) - 1)
                            for n, f in enumerate(self.history)],
            })
        return data


class ListFeedback:
    """Judged turns, oldest verdict first, filtered on their current verdict."""

    def __init__(self, repository: FeedbackRepository, mapping: IntentMapping) -> None:
        self._repository = repository
        self._mapping = mapping

    def execute(self, kind: FeedbackKind | str | None = None, since: date | None = None,
                family: str | None = None) -> list[JudgedTurn]:
        """``kind``: current verdict; ``since``: judged on or after that day (UTC); ``family``: the
        family that serves the answer's intent (an unknown family lists the known ones)."""
        wanted_kind = None if kind is None else to_feedback_kind(kind)
        wanted_family = None if family is None else AdapterFamily(family)
        if wanted_family is not None:
            require_family(self._mapping, wanted_family)
        history = self._repository.list_feedback()
        by_turn: dict[str, list[Feedback]] = {}
        for feedback in history:
            by_turn.setdefault(feedback.turn_id, []).append(feedback)
        latest = sorted(latest_verdicts(history).values(), key=lambda f: f.created_at)
        found: list[JudgedTurn] = []
        for verdict in latest:
            if wanted_kind is not None and verdict.kind is not wanted_kind:
                continue
            if since is not None and verdict.created_at.date() < since:
                continue
            turn = self._repository.get_turn(verdict.turn_id)
            if turn is None:
                continue  # the foreign key makes this impossible; never fail a listing on it
            entry = JudgedTurn(turn, by_turn[verdict.turn_id])
            entry = attrs.evolve(entry, family=self._mapping.family_for(entry.intent))
            if wanted_family is None or entry.family == wanted_family:
                found.append(entry)
        return found


class ShowFeedback:
    """One turn: what was sent, the reply, and every verdict with its time."""

    def __init__(self, repository: FeedbackRepository, mapping: IntentMapping) -> None:
        self._repository = repository
        self._mapping = mapping

    def execute(self, turn_id: str) -> JudgedTurn:
        """The turn and its verdicts; an unknown id is one error naming it."""
        tid = parse_turn_id(turn_id)
        turn = self._repository.get_turn(tid)
        if turn is None:
            raise UnknownTurnError(tid)
        history: Sequence[Feedback] = [f for f in self._repository.list_feedback() if f.turn_id == tid]
        entry = JudgedTurn(turn, history)
        return attrs.evolve(entry, family=self._mapping.family_for(entry.intent))
