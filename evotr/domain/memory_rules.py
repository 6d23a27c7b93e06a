"""Long-term memory rules: merge or supersede a fact, what to recall within a budget, what to evict.

Pure: the use cases in ``evotr.application.memory`` fetch records and apply these decisions.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from evotr.domain.facts import OPPOSITE, Fact
from evotr.domain.memory import LAST_RECALLED, TIME, MemoryHit, MemoryKind, MemoryRecord
from evotr.domain.validation import positive_int

# Extra metadata of facts and exchanges (beside MemoryMetadata's standard keys).
STATUS, SUBJECT, SLOT, TOPIC, VALUE_KEY, SAID = "status", "subject", "slot", "topic", "value_key", "said"
SUPERSEDES, SUPERSEDED_BY, STATED, TURN = "supersedes", "superseded_by", "stated", "turn"
ACTIVE, SUPERSEDED = "active", "superseded"

FACTS_HEADER = "Kullanıcı hakkında bildiklerin (uzun süreli hafıza):"
EXCHANGES_HEADER = "İlgili önceki konuşmalar:"
_EXCHANGE_PART_CHARS = 300  # one exchange never crowds out the rest of the budget
_USER_SAID, _ANSWERED = "Kullanıcı: ", " → Asistan: "


def _similarity(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    from evotr.domain.errors import DomainValidationError

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1.0 <= value <= 1.0:
        raise DomainValidationError(attribute.name, f"must be a similarity between -1 and 1, got {value!r}")


@attrs.frozen(slots=True)
class MemoryPolicy:
    """The limits: how many records (``cap``), how much prompt (``recall_chars``), which similarities.

    ``floor``: a record scoring below it is never recalled; ``merge_threshold``: an exchange this
    similar to a stored one replaces it, and a liked thing this similar to one already liked is the
    same thing said again.
    """

    cap: int = attrs.field(default=10_000, validator=positive_int)
    recall_chars: int = attrs.field(default=2_000, validator=positive_int)
    recall_k: int = attrs.field(default=5, validator=positive_int)
    floor: float = attrs.field(default=0.2, validator=_similarity)
    merge_threshold: float = attrs.field(default=0.9, validator=_similarity)

    def evict_count(self, count: int) -> int:
        """How many to evict at ``count`` records: down to the cap less 1 % slack (so the scan is rare)."""
        return 0 if count <= self.cap else count - self.cap + self.cap // 100


@attrs.frozen(slots=True)
class FactDecision:
    """What to do with a new fact: merge it into ``merge_into``, or store it superseding ``supersede``."""

    merge_into: str | None = None
    supersede: tuple[str, ...] = ()


def decide(fact: Fact, stored: Sequence[MemoryHit]) -> FactDecision:
    """Merge, supersede or add, given the active stored facts about the same subject and topic.

    ``stored`` hits carry each record's similarity to the new fact. The same value (folded) in
    the same slot is the fact said again; in a one-value slot ("residence") any other value is a
    contradiction and supersedes; in a many-value slot ("likes") only a near-duplicate (similarity
    >= the merge threshold, checked by the caller) merges, and the opposite slot with the same
    value ("sevmiyorum" after "severim") supersedes.
    """
    same_slot = [h for h in stored if h.record.metadata.get(SLOT) == fact.slot.value]
    for hit in same_slot:
        if hit.record.metadata.get(VALUE_KEY) == fact.value_key:
            return FactDecision(merge_into=hit.record.id)
    if fact.multi_valued:
        opposite = OPPOSITE[fact.slot].value
        return FactDecision(supersede=tuple(
            h.record.id for h in stored
            if h.record.metadata.get(SLOT) == opposite
            and h.record.metadata.get(VALUE_KEY) == fact.value_key))
    return FactDecision(supersede=tuple(h.record.id for h in same_slot))


def near_duplicate(fact: Fact, stored: Sequence[MemoryHit], threshold: float) -> str | None:
    """A stored value of a many-value slot close enough to ``fact`` to be the same thing, or None."""
    if not fact.multi_valued:
        return None
    close = [h for h in stored if h.record.metadata.get(SLOT) == fact.slot.value and h.score >= threshold]
    return max(close, key=lambda h: h.score).record.id if close else None


@attrs.frozen(slots=True)
class Recalled:
    """A memory put into the prompt: its id, kind, text and why (``asked`` slot or ``similar``)."""

    id: str
    kind: MemoryKind
    text: str
    score: float
    reason: str = "similar"

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of `/memory` and `evotr memory search --json`."""
        return {"id": self.id, "kind": self.kind.value, "text": self.text, "score": round(self.score, 4),
                "reason": self.reason}


def select(asked: Sequence[MemoryRecord], facts: Sequence[MemoryHit], exchanges: Sequence[MemoryHit],
           session: str, policy: MemoryPolicy) -> list[Recalled]:
    """Candidates in prompt order: facts the message asks about, then facts, then exchanges.

    Facts and exchanges each take their top ``recall_k`` above the floor; exchanges of the current
    session are left out (the conversation itself is already in the prompt).
    """
    chosen: list[Recalled] = [Recalled(r.id, MemoryKind.FACT, r.text, 1.0, "asked") for r in asked]
    seen = {r.id for r in chosen}
    similar = [h for h in facts if h.score >= policy.floor and h.record.id not in seen]
    chosen += [Recalled(h.record.id, MemoryKind.FACT, h.record.text, h.score)
               for h in similar[:policy.recall_k]]
    others = [h for h in exchanges if h.score >= policy.floor and h.record.metadata.get("session") != session]
    chosen += [Recalled(h.record.id, MemoryKind.EXCHANGE, h.record.text, h.score)
               for h in others[:policy.recall_k]]
    return chosen


def render(candidates: Sequence[Recalled], chars: int) -> tuple[str, list[Recalled]]:
    """The system-prompt block of at most ``chars`` characters and the memories it holds.

    Candidates are taken in order; one that does not fit is skipped and a shorter later one may
    still go in. Facts and exchanges get a heading each (counted in the budget).
    """
    lines: list[str] = []
    used: list[Recalled] = []
    size = 0
    for kind, header in ((MemoryKind.FACT, FACTS_HEADER), (MemoryKind.EXCHANGE, EXCHANGES_HEADER)):
        head_cost = len(header) + (1 if lines else 0)  # the newline before a heading
        for item in (c for c in candidates if c.kind is kind):
            line = "- " + " ".join(item.text.split())
            cost = len(line) + 1 + (head_cost if not any(u.kind is kind for u in used) else 0)
            if size + cost > chars:
                continue
            if not any(u.kind is kind for u in used):
                lines.append(header)
            lines.append(line)
            used.append(item)
            size += cost
    return "\n".join(lines), used


def exchange_text(message: str, reply: str) -> str:
    """How a past exchange is stored and recalled (each side cut to a few hundred characters)."""
    def cut(text: str) -> str:
        flat = " ".join(text.split())
        return flat if len(flat) <= _EXCHANGE_PART_CHARS else flat[:_EXCHANGE_PART_CHARS - 1] + "…"

    return f"{_USER_SAID}{cut(message)}{_ANSWERED}{cut(reply)}"


def exchange_message(text: str) -> str | None:
    """The user's message in a stored exchange's text (as cut when stored), or None if it is not one."""
    if text.startswith(_USER_SAID) and _ANSWERED in text:
        return text[len(_USER_SAID):text.index(_ANSWERED)]
    return None


def least_recently_recalled(records: Sequence[MemoryRecord], n: int) -> list[str]:
    """The ``n`` ids recalled longest ago (never-recalled ones by when they were written)."""
    def age(record: MemoryRecord) -> tuple[float, float]:
        meta = record.metadata
        return (float(meta.get(LAST_RECALLED, meta.get(TIME, 0.0))), float(meta.get(TIME, 0.0)))

    return [r.id for r in sorted(records, key=age)[:max(n, 0)]]
