"""Generator throughput benchmark (issue 5): does `data generate` use the whole quota, never more?

    python benchmarks/bench_generator.py [--seconds 60] [--concurrency 32]

A loopback fake of the Gemini API (``tests/fakes``) enforces Google's free-tier rule per key;
here 2 keys at 600 requests/min and 300,000 tokens/min each. The real pipeline runs against it
(GemmaGenerator + GenerateData on ``python_code``, answers parsed, checked and fsynced to a
temporary data folder) for ``--seconds``; then, from the server's own records:

* achieved requests and tokens per 60 s window (windows start at the first admitted request),
  against the allowed 2 × 600 requests and 2 × 300,000 tokens; the binding limit must reach
  ≥ 95 %;
* requests admitted over a limit (re-checked from the records): must be 0;
* 429 refusals (the client's pacing guessed wrong; not a violation, but wasted requests).

The fake answers ~``--output-tokens`` tokens (4 characters each, the fake's rule), so a request
costs ~420 tokens: 1,200 requests/min need ~500,000 of the 600,000 tokens/min, i.e. RPM binds.
Results: a rich table and ``benchmarks/results/generator.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
for _path in (_HERE, _HERE.parent):  # bench_support beside this file; tests.fakes in the repo
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_support import console, finish, machine_info  # noqa: E402

RESULTS = _HERE / "results" / "generator.json"
KEYS = ("bench-key-one-0123456789", "bench-key-two-0123456789")
RPM, TPM, RPD = 600, 300_000, 14_400
WINDOW_S = 60.0
TARGETS = {"binding_ratio_min": 0.95, "over_limit_max": 0}


def make_responder(output_tokens: int) -> Any:
    """Valid python_code answers of about ``output_tokens`` fake tokens, unique per call."""

    def respond(prompt: str, rng: random.Random) -> str:
        n = rng.randrange(10**12)
        code = f"values = [3, 1, {n % 97}]\nprint(sorted(values))"
        head = f"Sıralamak için `sorted` kullan (#{n}). "
        filler = "Bu yöntem yeni bir liste döndürür ve asıl listeyi değiştirmez. "
        room = max(0, output_tokens * 4 - len(head) - len(code) - 120)
        text = head + (filler * (room // len(filler) + 1))[:room] + f"\n```python\n{code}\n```"
        return json.dumps({"user": f"Python'da liste nasıl sıralanır? #{n}", "assistant": text},
                          ensure_ascii=False)

    return respond


def windows(records: list[Any], seconds: float) -> list[dict[str, float]]:
    """Admitted requests and tokens in each full 60 s window from the first admitted request."""
    admitted = sorted((r for r in records if r.status == 200), key=lambda r: r.time)
    if not admitted:
        return []
    start = admitted[0].time
    found = []
    for i in range(max(1, math.floor(seconds / WINDOW_S))):
        low, high = start + i * WINDOW_S, start + (i + 1) * WINDOW_S
        inside = [r for r in admitted if low <= r.time < high]
        found.append({"requests": float(len(inside)),
                      "tokens": float(sum(r.prompt_tokens + r.output_tokens for r in inside))})
    return found


class _TimeBox:
    """Passes requests to the generator until the deadline, then stops the run like a used-up
    quota would: nothing new is sent and the requests in flight are answered, not cut off."""

    def __init__(self, generator: Any, deadline: float) -> None:
        self._generator, self._deadline = generator, deadline

    async def generate(self, request: Any) -> Any:
        from evotr.application.errors import GenerationQuotaExhaustedError

        if time.monotonic() >= self._deadline:
            raise GenerationQuotaExhaustedError("benchmark time is up")
        return await self._generator.generate(request)

    def stats(self) -> Any:
        return self._generator.stats()


async def _drive(use_case: Any, generator: Any, concurrency: int) -> Any:
    try:
        return await use_case.run("python_code", 10**7, concurrency=concurrency)
    finally:
        await generator.aclose()


def run(seconds: float = 60.0, concurrency: int = 32, output_tokens: int = 120,
        latency_s: float = 0.05) -> dict[str, Any]:
    """Run the pipeline against the fake for ``seconds`` and measure it (not yet written)."""
    from evotr.application.datagen import GenerateData
    from evotr.infrastructure.config.generation import load_generation_config
    from evotr.infrastructure.datasets.jsonl_store import JsonlSampleStore
    from evotr.infrastructure.gemma.generator import gemma_generator_from_env
    from tests.fakes import FakeGeminiServer

    config = load_generation_config(_HERE.parent / "configs" / "generation.yaml").with_limits(
        rpm=RPM, tpm=TPM, rpd=RPD, backend="gemma", concurrency=concurrency)
    began = time.perf_counter()
    with FakeGeminiServer(keys=list(KEYS), rpm=RPM, tpm=TPM, rpd=RPD, latency_s=latency_s,
                          responder=make_responder(output_tokens)) as server, \
            tempfile.TemporaryDirectory(prefix="evotr-bench-gen-") as data:
        env = {"GOOGLE_API_KEY": KEYS[0], "GOOGLE_API_KEY_2": KEYS[1]}
        # With the per-key request log, as `evotr data generate` runs it (budgets shared on disk).
        generator = gemma_generator_from_env(env, base_url=server.base_url, rpm=RPM, tpm=TPM, rpd=RPD,
                                             request_log=Path(data) / "generator_requests.db")
        store = JsonlSampleStore(Path(data))
        # The windows start at the first admitted request, a moment after this: run a little longer.
        boxed = _TimeBox(generator, time.monotonic() + seconds + 2.0)
        report = asyncio.run(_drive(GenerateData(boxed, store, config), generator, concurrency))
        samples = len(store.scan("python_code").records)
        records = server.records
        over = server.check_limits()
    stats = generator.stats().as_dict()
    per_window = windows(records, seconds)
    n = max(1, len(per_window))
    achieved_rpm = sum(w["requests"] for w in per_window) / n
    achieved_tpm = sum(w["tokens"] for w in per_window) / n
    allowed_rpm, allowed_tpm = float(RPM * len(KEYS)), float(TPM * len(KEYS))
    ratios = {"rpm": achieved_rpm / allowed_rpm, "tpm": achieved_tpm / allowed_tpm}
    admitted = [r for r in records if r.status == 200]
    tokens_per_request = sum(r.prompt_tokens + r.output_tokens for r in admitted) / max(1, len(admitted))
    binding = "rpm" if tokens_per_request * RPM <= TPM else "tpm"
    result: dict[str, Any] = {
        "benchmark": "generator",
        "machine": machine_info(),
        "config": {"seconds": seconds, "concurrency": concurrency, "keys": len(KEYS), "rpm_per_key": RPM,
                   "tpm_per_key": TPM, "fake_latency_s": latency_s, "output_tokens": output_tokens,
                   "category": "python_code"},
        "windows": per_window,
        "achieved": {"requests_per_min": achieved_rpm, "tokens_per_min": achieved_tpm},
        "allowed": {"requests_per_min": allowed_rpm, "tokens_per_min": allowed_tpm},
        "ratio": ratios,
        "binding": binding,
        "tokens_per_request": tokens_per_request,
        "over_limit": len(over),
        "over_limit_examples": over[:5],
        "refused_429": sum(1 for r in records if r.status == 429),
        "other_errors": sum(1 for r in records if r.status not in (200, 429)),
        "samples_written": samples,
        "rejects": dict(report.rejects),
        "generator_stats": stats,
        "targets": dict(TARGETS),
    }
    result["pass"] = {"rate": ratios[binding] >= TARGETS["binding_ratio_min"],
                      "over_limit": len(over) <= TARGETS["over_limit_max"]}
    result["pass"]["all"] = all(result["pass"].values())
    result["runtime_s"] = time.perf_counter() - began
    return result


def table(result: dict[str, Any]) -> Any:
    """A rich ``Table``: achieved vs allowed, over-limit count, verdicts."""
    from rich.table import Table

    mark = {True: "[green]PASS[/green]", False: "[red]FAIL[/red]"}
    a, al, ok, bind = result["achieved"], result["allowed"], result["pass"], result["binding"]
    cfg = result["config"]
    out = Table(title=f"Gemma generator vs fake quota ({cfg['keys']} keys × {cfg['rpm_per_key']} RPM / "
                      f"{cfg['tpm_per_key']:,} TPM, {cfg['seconds']:g} s, concurrency {cfg['concurrency']})")
    for column in ("measure", "achieved", "allowed", "ratio", "target", "result"):
        out.add_column(column, justify="left" if column in ("measure", "result") else "right")
    target = f"≥ {TARGETS['binding_ratio_min']:.0%}"
    out.add_row("requests / min" + (" (binding)" if bind == "rpm" else ""), f"{a['requests_per_min']:,.0f}",
                f"{al['requests_per_min']:,.0f}", f"{result['ratio']['rpm']:.1%}",
                target if bind == "rpm" else "", mark[ok["rate"]] if bind == "rpm" else "")
    out.add_row("tokens / min" + (" (binding)" if bind == "tpm" else ""), f"{a['tokens_per_min']:,.0f}",
                f"{al['tokens_per_min']:,.0f}", f"{result['ratio']['tpm']:.1%}",
                target if bind == "tpm" else "", mark[ok["rate"]] if bind == "tpm" else "")
    out.add_row("requests admitted over a limit", str(result["over_limit"]), "", "", "0",
                mark[ok["over_limit"]])
    out.add_row("429 refusals (client pacing misses)", str(result["refused_429"]), "", "", "", "")
    out.add_row("tokens per request", f"{result['tokens_per_request']:,.0f}", "", "", "", "")
    out.add_row("samples written (parsed, fsynced)", f"{result['samples_written']:,}", "", "", "", "")
    out.add_row("60 s windows measured", str(len(result["windows"])), "", "", "", "")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run, write the JSON, print the table; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to generate (≥ 60)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--output-tokens", type=int, default=120, help="answer size, fake tokens")
    parser.add_argument("--latency", type=float, default=0.05, help="fake server latency, seconds")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.seconds < WINDOW_S:
        parser.error("--seconds must be at least 60: rates are measured per 60 s window")

    result = run(args.seconds, args.concurrency, args.output_tokens, args.latency)
    return finish(console(), result, table(result), args.out)


if __name__ == "__main__":
    sys.exit(main())
