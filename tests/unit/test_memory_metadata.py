"""MemoryMetadata: the standard keys every stored memory carries (session, intent, kind, time, recalls)."""

from __future__ import annotations

import pytest

from evotr.domain.errors import DomainValidationError
from evotr.domain.intents import Intent
from evotr.domain.memory import MemoryKind, MemoryMetadata

pytestmark = pytest.mark.unit


def test_flat_form_has_every_standard_key_and_leaves_an_unset_intent_out() -> None:
    meta = MemoryMetadata("s1", "fact", 100, extra={"superseded_by": "m9"})
    assert meta.to_metadata() == {"session": "s1", "kind": "fact", "time": 100.0, "recall_count": 0,
                                  "last_recalled": 100.0, "superseded_by": "m9"}
    assert MemoryMetadata.from_metadata(meta.to_metadata()) == meta


def test_a_recall_counts_and_moves_last_recalled_only() -> None:
    meta = MemoryMetadata("s1", MemoryKind.EXEMPLAR, 100.0, Intent.CODE_PYTHON)
    twice = meta.recalled(150).recalled(175.5)
    assert (twice.recall_count, twice.last_recalled, twice.time) == (2, 175.5, 100.0)
    assert twice.to_metadata()["intent"] == "code_python"
    assert meta.recall_count == 0  # frozen: recalled() returns a new value


@pytest.mark.parametrize(("build", "message"), [
    (lambda: MemoryMetadata("s", "rumour", 1), "kind: unknown memory kind 'rumour'; valid: fact, exchange"),
    (lambda: MemoryMetadata("s", "fact", 1, intent="weather"), "intent: unknown intent 'weather'"),
    (lambda: MemoryMetadata(" ", "fact", 1), "session: must not be empty"),
    (lambda: MemoryMetadata("s", "fact", 1, recall_count=-1), "recall_count: must be a whole number >= 0"),
    (lambda: MemoryMetadata("s", "fact", 1, extra={"time": 5}), "extra: time is a standard metadata key"),
    (lambda: MemoryMetadata.from_metadata({"session": "s"}), "metadata: missing kind, time"),
], ids=["kind", "intent", "session", "recalls", "extra", "missing"])
def test_bad_values_name_the_field(build: object, message: str) -> None:
    with pytest.raises(DomainValidationError, match=message):
        build()  # type: ignore[operator]
