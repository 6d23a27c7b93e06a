"""Fact extraction: every Turkish and English rule on every clause that is not a question."""

from __future__ import annotations

from evotr.domain.facts import english, turkish
from evotr.domain.facts.model import Fact
from evotr.domain.facts.tokens import clauses

MAX_FACT_MESSAGE = 2_000  # a pasted document is not someone telling us about themselves


def extract_facts(message: str) -> list[Fact]:
    """The facts the user states about themselves or people close to them, in order, no repeats.

    Questions ("Adım ne?", "where do I live"), hypotheticals and reported speech state nothing.
    """
    if len(message) > MAX_FACT_MESSAGE:
        return []
    found: list[Fact] = []
    seen: set[tuple[tuple[str, str, str], str]] = set()
    for clause in clauses(message):
        if clause.question:
            continue
        for item in [f for rule in turkish.RULES for f in rule(clause)] + english.apply(clause):
            if (item.key, item.value_key) not in seen:
                seen.add((item.key, item.value_key))
                found.append(item)
    return found
