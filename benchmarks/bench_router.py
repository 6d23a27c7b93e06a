"""Intent-router benchmark (issue 4 item 5): training time and per-message prediction latency.

    python benchmarks/bench_router.py [--predictions 10000] [--out FILE]

Trains the n-gram router on the shipped ``configs/intents.yaml`` once (timed, cold) and three
more times (median), then times ``probabilities`` on 10,000 messages, cycling through
``configs/router_holdout.jsonl`` when it exists (else through the examples). Prints a table with
PASS/FAIL against the targets (median ≤ 1 ms per message, training ≤ 10 s) and writes
``benchmarks/results/router.json``; with a holdout file it also reports routing accuracy on it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from itertools import cycle, islice
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import Stopwatch, console, finish, machine_info, summary  # noqa: E402

REPO = _HERE.parent
RESULTS = _HERE / "results" / "router.json"
INTENTS = REPO / "configs" / "intents.yaml"
HOLDOUT = REPO / "configs" / "router_holdout.jsonl"
TARGETS = {"predict_median_ms_max": 1.0, "train_s_max": 10.0}


def _machine() -> dict[str, Any]:
    try:
        return machine_info()
    except ImportError:  # machine_info reports MLX versions; the router does not need MLX
        import platform

        return {"platform": platform.platform(), "python": platform.python_version()}


def run(predictions: int = 10_000, trainings: int = 3) -> dict[str, Any]:
    """Measure everything and return the result (not yet written)."""
    from evotr.application.router_eval import EvaluateRouter
    from evotr.domain.intents import RoutingPolicy
    from evotr.infrastructure.config.loader import load_intent_mapping
    from evotr.infrastructure.router.classifier import NgramIntentClassifier
    from evotr.infrastructure.router.dataset import read_labelled_jsonl

    examples = load_intent_mapping(INTENTS).examples
    with Stopwatch() as cold:
        classifier = NgramIntentClassifier()
        classifier.fit(examples)
    repeats = []
    for _ in range(trainings):
        with Stopwatch() as watch:
            NgramIntentClassifier().fit(examples)
        repeats.append(watch.seconds)
    state = classifier.state
    assert state is not None

    holdout = read_labelled_jsonl(HOLDOUT) if HOLDOUT.exists() else []
    texts = [t for t, _ in holdout] or [t for ts in examples.values() for t in ts]
    latencies = []
    for text in islice(cycle(texts), predictions):
        started = time.perf_counter()
        classifier.probabilities(text)
        latencies.append((time.perf_counter() - started) * 1000.0)

    result: dict[str, Any] = {
        "machine": _machine(),
        "targets": TARGETS,
        "examples": state.n_examples,
        "features": len(state.vectorizer.terms),
        "cv_accuracy": state.cv_accuracy,
        "temperature": state.temperature,
        "train_s": {"cold": cold.seconds, "median_of_3": statistics.median(repeats), "runs": repeats},
        "predict_ms": {**summary(latencies), "messages": predictions,
                       "source": HOLDOUT.name if holdout else INTENTS.name},
    }
    if holdout:
        report = EvaluateRouter(classifier, RoutingPolicy(0.7)).execute(holdout)
        result["holdout"] = {"samples": report.samples, "accuracy_at_0.7": report.accuracy,
                             "fallback_rate_at_0.7": report.fallback_rate, "macro_f1": report.macro_f1}
    slowest_train = max(cold.seconds, statistics.median(repeats))
    result["pass"] = {"predict": result["predict_ms"]["median"] <= TARGETS["predict_median_ms_max"],
                      "train": slowest_train <= TARGETS["train_s_max"]}
    result["pass"]["all"] = all(result["pass"].values())
    return result


def table(result: dict[str, Any]) -> Any:
    """A rich table: each measure, its value, its target and PASS/FAIL."""
    from rich.table import Table

    verdict = {True: "[green]PASS[/green]", False: "[red]FAIL[/red]"}
    out = Table(title=f"Intent router ({result['examples']} examples, {result['features']} features)")
    for column in ("measure", "value", "target", "verdict"):
        out.add_column(column)
    p, t = result["predict_ms"], result["train_s"]
    out.add_row("predict median", f"{p['median']:.3f} ms", "≤ 1 ms", verdict[result["pass"]["predict"]])
    out.add_row("predict p95", f"{p['p95']:.3f} ms", "", "")
    out.add_row("training (cold)", f"{t['cold']:.2f} s", "≤ 10 s", verdict[t["cold"] <= 10.0])
    out.add_row("training (median of 3)", f"{t['median_of_3']:.2f} s", "≤ 10 s",
                verdict[t["median_of_3"] <= 10.0])
    if result["cv_accuracy"] is not None:
        out.add_row("5-fold CV accuracy", f"{result['cv_accuracy']:.1%}", "", "")
    if "holdout" in result:
        h = result["holdout"]
        out.add_row("holdout accuracy @0.7", f"{h['accuracy_at_0.7']:.1%} of {h['samples']}", "", "")
        out.add_row("holdout fallback rate @0.7", f"{h['fallback_rate_at_0.7']:.1%}", "", "")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write the JSON, print the table; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    result = run(args.predictions)
    return finish(console(), result, table(result), args.out)


if __name__ == "__main__":
    sys.exit(main())
