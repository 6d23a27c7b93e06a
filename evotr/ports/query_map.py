"""Moves a question's embedding towards the memories that answer it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class QueryMap(Protocol):
    """A question and the statement that answers it are worded differently ("Köpeğimin adı ne?" /
    "Köpeğim Karabaş"); a map learned from such pairs turns the question's vector into one that
    lies nearer its answers. Only searches use it: what is stored keeps the embedder's vectors."""

    @property
    def name(self) -> str:
        """What the map was trained for and on (shown by benchmarks and `evotr memory search`)."""
        ...

    @property
    def reads_text(self) -> bool:
        """True when :meth:`adapt` reads only the question's text, never its vector (a query
        tower embeds the words itself, and the chat router reads its vectors too): recall then
        leaves the message's plain embedding out of the turn, for the background writer to make."""
        ...

    def adapt(self, vector: Sequence[float], text: str | None = None,
              also: Sequence[str] = ()) -> list[float]:
        """The unit-length search vector for a question embedded as ``vector``; ``text`` is the
        question as it was embedded (a map that reads the words, query_tower.py, needs it);
        ``also``: the router's texts for the same message, which such a map embeds in the same
        call (the router then finds them in its cache)."""
        ...
