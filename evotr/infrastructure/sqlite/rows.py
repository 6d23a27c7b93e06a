"""Turn and feedback rows ↔ domain objects: column lists, time text, and the JSON columns."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message
from evotr.domain.errors import DomainValidationError
from evotr.domain.feedback import Feedback, FeedbackKind
from evotr.domain.intents import Intent
from evotr.domain.sampling import SamplingParams
from evotr.domain.turns import TurnId, TurnRecord
from evotr.infrastructure.sqlite.errors import SqliteStorageError

TURN_COLUMNS = (
    "id, session_id, source, created_at, prompt, reply, intent, confidence, fallback, adapter, "
    "timings_json, messages_json, sampling_json"
)
FEEDBACK_COLUMNS = "turn_id, kind, correction, source, created_at, intent"


def to_text(moment: datetime) -> str:
    """Always UTC with microseconds: fixed width, so text order is time order for ORDER BY."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    """A stored time back as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def turn_values(turn: TurnRecord) -> tuple[Any, ...]:
    """The INSERT values of ``turn``, in TURN_COLUMNS order."""
    messages = None
    if turn.messages:
        messages = json.dumps([m.as_dict() for m in turn.messages], ensure_ascii=False)
    sampling = None
    if turn.sampling is not None:
        sampling = json.dumps(attrs.asdict(turn.sampling), sort_keys=True)
    return (
        turn.id, turn.session_id, turn.source, to_text(turn.created_at), turn.prompt,
        turn.reply, turn.intent.value, turn.confidence, int(turn.fallback),
        None if turn.adapter is None else turn.adapter.name,
        json.dumps(dict(turn.timings_ms), ensure_ascii=False, sort_keys=True), messages, sampling,
    )


def turn_from_row(row: Sequence[Any], path: Path) -> TurnRecord:
    """A TurnRecord from a TURN_COLUMNS row; damaged JSON columns name the file and the turn."""
    (turn_id, session_id, source, created_at, prompt, reply, intent, confidence, fallback,
     adapter, timings_json, messages_json, sampling_json) = row
    try:
        messages = () if messages_json is None else tuple(
            Message(m["role"], m["content"]) for m in json.loads(messages_json))
        sampling = None if sampling_json is None else SamplingParams(**json.loads(sampling_json))
    except (ValueError, TypeError, KeyError, DomainValidationError) as error:
        raise SqliteStorageError(path, f"turn {turn_id}: unreadable messages or sampling ({error})") from None
    return TurnRecord(
        prompt=prompt,
        reply=reply,
        intent=Intent.parse(intent),
        confidence=float(confidence),
        fallback=bool(fallback),
        adapter=None if adapter is None else AdapterVersion.parse(adapter),
        session_id=session_id,
        source=source,
        timings_ms=json.loads(timings_json),
        id=turn_id,
        created_at=from_text(created_at),
        messages=messages,
        sampling=sampling,
    )


def feedback_values(feedback: Feedback) -> tuple[Any, ...]:
    """The INSERT values of ``feedback``, in FEEDBACK_COLUMNS order."""
    return (feedback.turn_id, feedback.kind.value, feedback.correction, feedback.source,
            to_text(feedback.created_at), None if feedback.intent is None else feedback.intent.value)


def feedback_from_row(row: Sequence[Any]) -> Feedback:
    """A Feedback from a FEEDBACK_COLUMNS row."""
    turn_id, kind, correction, source, created_at, intent = row
    return Feedback(TurnId(turn_id), FeedbackKind.parse(kind), correction, source, from_text(created_at),
                    None if intent is None else Intent.parse(intent))

