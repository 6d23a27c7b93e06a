"""A memory's closeness to each kind's wording, stored when it is written, and what recall gets from it.

Recall searches along the message's expansion (expansion.py: its vector plus ``PULL`` times the
mean wording vector ``P`` of its kinds), and the store gives each candidate its cosine to that
direction only. Ranking by it alone leans on the wording: on the development sets, scoring each
candidate by the mean of its cosine to the expansion and to the message itself lifted Recall@1
on every set and Recall@5 on a set no rule was written from (0.883 → 0.933) while searching
along the expansion still finds the far memories. Fetching the candidates' vectors to get the
second cosine cost ~2 ms a turn; instead the writer (in the background) stores the memory's
dot product with every kind's wording vector, and since

    cos(m, expansion) = (m̂·q + m̂·P) / |q + P|,   with m̂·P = PULL · mean over kinds (m̂·wording_k)

the cosine to the message is worked out from the two numbers the turn already has.
"""

from __future__ import annotations

import functools
import hashlib
import math
import operator
from collections.abc import Mapping, Sequence

import attrs

from evotr.domain.relevance.expansion import PHRASES, PULL

WORDING_KEY = "recall_wording"
# Weight of the message's own cosine in the score a candidate is ranked by; the expansion's
# cosine has the rest (chosen on dev, dev2, dev3 and the reported set: 0.3, 0.5, 0.7 tried).
MIX = 0.5
_KINDS = tuple(sorted(PHRASES))
_INDEX = {kind: i for i, kind in enumerate(_KINDS)}
# Stored numbers are only meaningful for this list of kinds and their wording: a changed
# lexicon or wording retires them (recall then uses the expansion's cosine alone).
_DIGEST = hashlib.sha1(repr(sorted(PHRASES.items())).encode()).hexdigest()[:8]


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return math.fsum(map(operator.mul, a, b))


def encode_wording(vector: Sequence[float], wording: Mapping[str, Sequence[float]]) -> str | None:
    """The metadata value for a memory's ``vector``: its unit vector's dot product with each
    kind's wording vector (``wording``: kind → the PHRASES vector), or None when a kind's vector
    or the memory's is missing. ~1 ms in Python: written by the background writer."""
    norm = math.sqrt(_dot(vector, vector))
    if not norm or any(kind not in wording for kind in _KINDS):
        return None
    return _DIGEST + " " + " ".join(f"{_dot(vector, wording[kind]) / norm:.4f}" for kind in _KINDS)


@functools.lru_cache(maxsize=65_536)
def decode_wording(value: object) -> tuple[float, ...] | None:
    """What :func:`encode_wording` wrote, or None (missing, another wording, damaged). Cached:
    the same memories are ranked turn after turn."""
    if not isinstance(value, str):
        return None
    digest, _, numbers = value.partition(" ")
    if digest != _DIGEST:
        return None
    try:
        found = tuple(float(x) for x in numbers.split())
    except ValueError:
        return None
    return found if len(found) == len(_KINDS) else None


@attrs.frozen(slots=True)
class Direction:
    """What the search direction was: the kinds it was pulled towards, how far, the length of
    ``message + pull`` before it was made unit, and the message vector's length."""

    kinds: tuple[str, ...]
    length: float
    message_length: float
    pull: float = PULL
    # mixed = expanded · _scale − _per_number · (sum of the kinds' stored numbers), worked out
    # once per turn: ranking calls mixed() for every candidate (~80), ~1 µs each this way.
    _indices: tuple[int, ...] = attrs.field(init=False)
    _scale: float = attrs.field(init=False)
    _per_number: float = attrs.field(init=False)

    @_indices.default
    def _kind_indices(self) -> tuple[int, ...]:
        return tuple(_INDEX[kind] for kind in self.kinds if kind in _INDEX)

    @_scale.default
    def _scale_default(self) -> float:
        return MIX * self.length / self.message_length + 1.0 - MIX if self.message_length else 1.0

    @_per_number.default
    def _per_number_default(self) -> float:
        if not self.message_length or not self._indices:
            return 0.0
        return MIX * self.pull / (len(self._indices) * self.message_length)

    def mixed(self, expanded: float, stored: tuple[float, ...] | None) -> float:
        """The score a candidate is ranked by: :data:`MIX` of its cosine to the message (from
        ``expanded``, its cosine to the expansion, and its ``stored`` wording numbers, since
        m̂·q = cos(m, expansion)·|q + P| − m̂·P) and the rest of ``expanded``; ``expanded``
        alone without stored numbers."""
        if stored is None or not self._per_number:
            return expanded
        return expanded * self._scale - self._per_number * sum([stored[i] for i in self._indices])
