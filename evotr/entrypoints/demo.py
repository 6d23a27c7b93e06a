"""`evotr demo`: init a home, build the tiny model, generate through the LLM port, show stats."""

from __future__ import annotations

import time
from pathlib import Path

import attrs
from rich.console import Console
from rich.panel import Panel

from evotr.application.settings import ModelSettings
from evotr.domain.feedback import FeedbackKind
from evotr.domain.sampling import SamplingParams
from evotr.entrypoints import render

DEMO_MESSAGES = ("Merhaba, nasılsın?", "Python'da liste nasıl oluşturulur?")


def run_demo(config: Path | None, home: Path, seed: int, console: Console) -> None:
    """The honest demo of the foundation: every step goes through the real pipeline pieces."""
    from evotr.container import build_container, container_for
    from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

    base = build_container(config, home)
    settings = base.settings()
    console.rule("[bold]EVO-TR demo[/bold]")
    report = base.use_cases.init_home().execute()
    console.print(f"1. Home folder {report.home.resolve()} ({len(report.created)} paths created)")

    started = time.perf_counter()
    tiny = ensure_tiny_model(settings.models_dir / "tiny-qwen2", seed=seed)
    reports = base.use_cases.validate_adapters().execute()
    console.print("   Adapters valid: " + "; ".join(f"{r.family} {r.status}" for r in reports))
    console.print(f"2. Tiny Qwen2 model at {tiny} ({(time.perf_counter() - started) * 1000:.0f} ms)")

    # The demo always runs the real mlx backend on the tiny model, whatever evotr.yaml says.
    settings = attrs.evolve(
        settings,
        model=ModelSettings(str(tiny)),
        backends={**settings.backends, "llm": "mlx"},
        # Seeded sampling: random weights decode greedily to one repeated token, sampling shows subwords.
        sampling=SamplingParams(temperature=1.0, top_p=1.0, max_tokens=16, seed=seed),
    )
    container = container_for(settings)
    uc = container.use_cases
    console.print("3. Routing, generating through the LLM port, saving the turn:")
    last_turn = None
    for text in DEMO_MESSAGES:
        route = uc.route_message().execute(text)
        adapter = uc.resolve_adapter().execute(route.intent)
        generated = uc.generate_once().execute(text, adapter)
        last_turn = uc.save_turn().execute(
            text, generated.text, route, adapter, session_id="demo", source="demo",
            timings_ms={"load": generated.load_ms, "generate": generated.generate_ms},
        )
        flag = " (fallback)" if route.fallback else ""
        console.print(f"   [cyan]{text}[/cyan] → {route.intent.value}{flag} "
                      f"{route.confidence:.0%} · adapter {adapter or 'base model'}")
        loaded = f"model loaded in {generated.load_ms:.0f} ms, " if generated.load_ms > 1 else ""
        console.print(f"   reply ({loaded}{generated.prompt_tokens} prompt tokens, "
                      f"{generated.generate_ms:.0f} ms): {generated.text!r}")
    if last_turn is not None:
        uc.record_feedback().execute(last_turn, FeedbackKind.THUMBS_UP, source="demo")
        console.print(f"4. Recorded 👍 on turn {last_turn}")

    console.print(render.adapters_table(uc.list_adapters().execute()))
    stats = uc.feedback_stats().execute()
    console.print(render.feedback_table(stats))
    console.print(stats.gate.describe())
    console.print(Panel(
        "The tiny model has random weights: its words are noise. It proves the pipeline "
        "(load → template → generate → store) runs offline.\nFor real answers, download "
        "mlx-community/Qwen2.5-3B-Instruct-4bit on a machine with network and set "
        "`model.path:` in evotr.yaml to that folder (or its hub id where the hub is reachable).",
        title="Note",
    ))
