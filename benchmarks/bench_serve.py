"""Server benchmark (issue 13 item 4): `evotr serve` under 1, 4 and 16 concurrent streaming clients.

    python benchmarks/bench_serve.py [--clients 1,4,16] [--requests 32] [--max-tokens 48]
                                     [--real-model [PATH]] [--out FILE]

For the tiny model (always) and Gemma 3 270M (``--real-model``; default folder as bench_learning
finds it): a home in a temp folder, the library call timed first (``CompleteChat`` in process, the
use case the server runs, greedy), then a real uvicorn on 127.0.0.1 and N client threads, each
streaming its share of ``--requests`` (at least one each) over raw HTTP. Reported per phase:
time to first token p50/p95 (queue wait included: one worker serves all), tokens/s in total, and the
server's overhead per request — the client's wall time minus the turn's own time as the server
measured it (``evotr.timings_ms.total``; with several clients minus the queue wait too). Target:
overhead median ≤ 5 ms with one client. Writes ``benchmarks/results/serve.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from itertools import cycle
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import console, finish, machine_info, summary  # noqa: E402

RESULTS = _HERE / "results" / "serve.json"
TARGETS = {"overhead_median_ms_max": 5.0}
SHIPPED_MODEL = "path: mlx-community/Qwen2.5-3B-Instruct-4bit"
PROMPTS = ("Merhaba, nasılsın?", "Python'da bir listeyi nasıl sıralarım?", "Osmanlı tarihi anlat",
           "5+3 kaç eder?", "Fizik kanunları nedir?", "İstanbul'da gezilecek yerler neler?")


def make_home(model: Path, home: Path, classifier: str) -> Any:
    """An initialised home serving ``model``; max_queue 64 so 16 clients never meet the 503."""
    from evotr.container import build_container

    build_container(home=home, env={}).use_cases.init_home().execute()
    config = home / "evotr.yaml"
    text = config.read_text("utf-8")
    assert SHIPPED_MODEL in text, "the shipped evotr.yaml no longer names the model this replaces"
    text = text.replace(SHIPPED_MODEL, f"path: {model}").replace("max_queue: 16", "max_queue: 64")
    config.write_text(text.replace("classifier: ngram", f"classifier: {classifier}"), "utf-8")
    return build_container(home=home, env={})


def library_calls(container: Any, count: int, max_tokens: int) -> list[float]:
    """Milliseconds per ``CompleteChat.execute`` in process: what the server wraps."""
    from evotr.application.chat import AdapterChoice
    from evotr.application.serving.completion import CompletionRequest
    from evotr.domain.client_conversation import ClientConversation
    from evotr.domain.conversation import Message, Role
    from evotr.domain.sampling import SamplingParams

    complete = container.use_cases.complete_chat()
    times = []
    for _, prompt in zip(range(count), cycle(PROMPTS), strict=False):
        request = CompletionRequest(ClientConversation.from_messages([Message(Role.USER, prompt)]),
                                    AdapterChoice(), SamplingParams(temperature=0.0, max_tokens=max_tokens))
        started = time.perf_counter()
        for _ in complete.execute(request):
            pass
        times.append((time.perf_counter() - started) * 1000)
    return times


@contextlib.contextmanager
def serve_process(home: Path) -> Iterator[str]:
    """`evotr serve` in its own process (as users run it), so client threads share no GIL with it."""
    command = [sys.executable, "-m", "evotr", "--home", str(home), "serve", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "EVOTR_API_KEY": ""})
    assert process.stderr is not None
    try:
        seen = []
        while not (found := re.search(r"http://127\.0\.0\.1:\d+", seen[-1] if seen else "")):
            line = process.stderr.readline()
            if not line:
                raise RuntimeError("evotr serve stopped before listening:\n" + "".join(seen))
            seen.append(line)
        # Drain its log (one access line per request) so a full pipe never blocks the server.
        threading.Thread(target=process.stderr.read, daemon=True).start()
        yield found.group(0)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def stream_once(client: Any, url: str, prompt: str, max_tokens: int) -> dict[str, float]:
    """One streamed request over raw HTTP: first-token time, wall time, tokens, server timings."""
    body = {"model": "evotr", "messages": [{"role": "user", "content": prompt}], "stream": True,
            "temperature": 0, "max_tokens": max_tokens, "stream_options": {"include_usage": True}}
    started = time.perf_counter()
    first = None
    timings: dict[str, float] = {}
    tokens = 0
    with client.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=600) as response:
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.read()[:200]!r}")
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if "error" in chunk:
                raise RuntimeError(chunk["error"]["message"])
            choices = chunk.get("choices") or [{}]
            if first is None and choices[0].get("delta", {}).get("content"):
                first = time.perf_counter()
            if "evotr" in chunk:
                timings = chunk["evotr"]["timings_ms"]
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
    ended = time.perf_counter()
    return {"ttft_ms": ((first or ended) - started) * 1000, "wall_ms": (ended - started) * 1000,
            "tokens": tokens, "turn_ms": timings.get("total", 0.0), "queue_ms": timings.get("queue", 0.0)}


def client_phase(url: str, clients: int, requests: int, max_tokens: int) -> dict[str, Any]:
    """``clients`` threads, each streaming its share of ``requests`` one after another."""
    import httpx

    per_client = max(1, -(-requests // clients))
    results: list[dict[str, float]] = []
    failures: list[str] = []
    lock = threading.Lock()

    def run(number: int) -> None:
        with httpx.Client() as client:
            for index in range(per_client):
                prompt = PROMPTS[(number + index) % len(PROMPTS)]
                try:
                    outcome = stream_once(client, url, prompt, max_tokens)
                except Exception as exc:  # reported, not hidden: a failed request fails the phase
                    with lock:
                        failures.append(f"{type(exc).__name__}: {exc}")
                    return
                with lock:
                    results.append(outcome)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures or not results:
        return {"clients": clients, "failures": failures[:5]}
    tokens = sum(r["tokens"] for r in results)
    # With one client the queue "wait" is the hand-off to the worker: server overhead. With several
    # it is mostly other clients' generations, which is not overhead.
    overhead = [r["wall_ms"] - r["turn_ms"] - (r["queue_ms"] if clients > 1 else 0.0) for r in results]
    return {"clients": clients, "requests": len(results), "wall_s": wall, "tokens": tokens,
            "tokens_per_s": tokens / wall, "ttft_ms": summary([r["ttft_ms"] for r in results]),
            "overhead_ms": summary(overhead), "failures": []}


def bench_model(name: str, model: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Library baseline, then every client count against one server."""
    import gc

    import httpx

    out = console()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        home = Path(folder) / "home"
        container = make_home(model, home, args.classifier)
        container.use_cases.warm_up().execute()
        library_calls(container, 2, args.max_tokens)  # warm caches and the router
        library = library_calls(container, args.library_calls, args.max_tokens)
        out.print(f"{name}: library call median {summary(library)['median']:.1f} ms")
        del container  # the server process loads its own copy
        gc.collect()
        phases = []
        with serve_process(home) as url:
            with httpx.Client() as warm:
                stream_once(warm, url, PROMPTS[0], args.max_tokens)  # the first request's one-off costs
            for clients in args.clients:
                phase = client_phase(url, clients, max(args.requests, clients), args.max_tokens)
                phases.append(phase)
                done = (f"{phase['tokens_per_s']:.1f} tok/s, TTFT p50 {phase['ttft_ms']['median']:.0f} ms"
                        if not phase["failures"] else f"FAILED {phase['failures'][0]}")
                out.print(f"{name}: {clients} client(s): {done}")
    return {"model": str(model), "max_tokens": args.max_tokens, "library_ms": summary(library),
            "phases": phases}


def table(result: dict[str, Any]) -> Any:
    """One row per model and client count."""
    from rich.table import Table

    out = Table(title="evotr serve: streaming clients on one worker (greedy, raw HTTP)")
    for column in ("model", "clients", "requests", "tok/s total", "TTFT p50", "TTFT p95",
                   "overhead p50 / p95", "library call p50"):
        out.add_column(column)
    for name, data in result["models"].items():
        for phase in data["phases"]:
            if phase["failures"]:
                out.add_row(name, str(phase["clients"]), "FAILED", phase["failures"][0][:60], "", "", "", "")
                continue
            over = phase["overhead_ms"]
            out.add_row(name, str(phase["clients"]), str(phase["requests"]),
                        f"{phase['tokens_per_s']:.1f}", f"{phase['ttft_ms']['median']:.0f} ms",
                        f"{phase['ttft_ms']['p95']:.0f} ms",
                        f"{over['median']:.1f} / {over['p95']:.1f} ms",
                        f"{data['library_ms']['median']:.0f} ms")
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure every model and judge the overhead target on the single-client phases."""
    from evotr.infrastructure.mlx.blas import prepare_blas
    from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

    prepare_blas()
    models = {"tiny": ensure_tiny_model(Path(tempfile.gettempdir()) / "evotr-bench-serve-tiny")}
    if args.real_model is not None:
        models["gemma-3-270m"] = args.real_model
    measured = {name: bench_model(name, path, args) for name, path in models.items()}
    result: dict[str, Any] = {"machine": machine_info(), "targets": TARGETS, "models": measured}
    singles = [p for m in result["models"].values() for p in m["phases"] if p["clients"] == 1]
    result["pass"] = {
        "no_failures": all(not p["failures"] for m in result["models"].values() for p in m["phases"]),
        "overhead": bool(singles) and all(
            not p["failures"] and p["overhead_ms"]["median"] <= TARGETS["overhead_median_ms_max"]
            for p in singles),
    }
    result["pass"]["all"] = all(result["pass"].values())
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=32,
                        help="requests per phase (at least one per client)")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--library-calls", type=int, default=8)
    parser.add_argument("--classifier", choices=("ngram", "memory"), default="ngram",
                        help="the router (memory: a quick stand-in for smoke runs)")
    parser.add_argument("--real-model", type=Path, nargs="?", const=Path(), default=None,
                        help="also Gemma 3 270M: its mlx folder (no value: the real-model tests' cache)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.real_model == Path():
        from bench_learning import default_real_model

        args.real_model = default_real_model()
        if args.real_model is None:
            parser.error("no Gemma 3 270M folder found: run `evotr model pull gemma-3-270m` or give "
                         "its path")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    return finish(console(), result, table(result), args.out)


if __name__ == "__main__":
    sys.exit(main())
