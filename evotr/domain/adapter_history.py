"""One line of ``<home>/adapters/history.jsonl``: a promotion decision, a promotion or a rollback."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType

import attrs

from evotr.domain.adapters import AdapterFamily
from evotr.domain.errors import DomainValidationError
from evotr.domain.validation import aware_datetime

EVENTS = ("feedback_train", "promote", "rollback")


def _event(_inst: object, _attr: object, value: str) -> None:
    if value not in EVENTS:
        raise DomainValidationError("event", f"unknown event {value!r}; events: {', '.join(EVENTS)}")


def _frozen(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class HistoryEvent:
    """What happened to a family's active version, when, and why (``details`` are JSON values).

    ``feedback_train`` details: candidate, active_before, active_after, decision, reasons,
    turn ids used (train / held_out), metrics. ``rollback``/``promote``: from, to.
    """

    event: str = attrs.field(validator=_event)
    family: AdapterFamily
    details: Mapping[str, object] = attrs.field(factory=dict, converter=_frozen)
    when: datetime = attrs.field(factory=lambda: datetime.now(UTC), validator=aware_datetime)

    def as_dict(self) -> dict[str, object]:
        """The JSON line: when, event, family, then the details."""
        return {"when": self.when.isoformat(timespec="seconds"), "event": self.event,
                "family": self.family.name, **self.details}

    @classmethod
    def from_dict(cls, document: Mapping[str, object]) -> HistoryEvent:
        """Parse a line written by ``as_dict``; DomainValidationError names what is wrong."""
        when, event, family = document.get("when"), document.get("event"), document.get("family")
        if not isinstance(when, str) or not isinstance(event, str) or not isinstance(family, str):
            raise DomainValidationError("history", "each line needs 'when', 'event' and 'family' as text")
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            raise DomainValidationError("when", f"not an ISO date: {when!r}") from None
        details = {k: v for k, v in document.items() if k not in ("when", "event", "family")}
        return cls(event, AdapterFamily(family), details, moment)

    @property
    def summary(self) -> str:
        """One line for a person: what changed and why."""
        d = self.details
        if self.event == "feedback_train":
            reasons = d.get("reasons")
            why = "; ".join(str(r) for r in reasons) if isinstance(reasons, list) else ""
            return f"{d.get('candidate')} {d.get('decision')}: {why}"
        return f"{self.event} {d.get('from')} → {d.get('to')}"
