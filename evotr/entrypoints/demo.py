"""`evotr demo` (what `make demo` runs): offline, on a tiny model built here, through the real pipeline.

Steps: init a home → build the tiny model → train two tiny LoRA adapters (tr_chat, python_coder)
and promote them → start the assistant (validate, load once, register adapters) → a scripted
chat session in the real REPL, switching adapters per message, with /good, /correct and /stats.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
from rich.console import Console
from rich.panel import Panel

from evotr.application.settings import ModelSettings
from evotr.domain.sampling import SamplingParams
from evotr.entrypoints import render

SCRIPT = (
    "Merhaba, nasılsın?",
    "Python'da liste nasıl oluşturulur?",
    "/good",
    "Osmanlı İmparatorluğu nasıl kuruldu?",
    "Kodum IndexError veriyor, neden?",
    "5+3 kaç eder?",
    "/correct 5 + 3 = 8 eder.",
    "/adapter none",
    "Bana bir fıkra anlatır mısın?",
    "/adapter auto",
    "/stats",
)
FAMILIES = ("tr_chat", "python_coder")


def run_demo(config: Path | None, home: Path, seed: int, console: Console) -> None:
    """Run every step; each goes through the same use cases `evotr chat` uses."""
    from evotr.container import build_container, container_for
    from evotr.entrypoints.chat_repl import Repl
    from evotr.entrypoints.library import assistant_for
    from evotr.infrastructure.mlx.tiny_datasets import write_tiny_chat_dataset
    from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

    console.rule("[bold]EVO-TR demo[/bold] (offline, tiny random model)")
    base = build_container(config, home)
    settings = base.settings()
    report = base.use_cases.init_home().execute()
    console.print(f"1. Home folder {report.home.resolve()} ({len(report.created)} paths created)")

    started = time.perf_counter()
    tiny = ensure_tiny_model(settings.models_dir / "tiny-qwen2", seed=seed)
    console.print(f"2. Tiny Qwen2 model at {tiny} ({(time.perf_counter() - started) * 1000:.0f} ms)")

    # The demo runs the real mlx backend and trainer on the tiny model, whatever evotr.yaml says.
    settings = attrs.evolve(
        settings,
        model=ModelSettings(str(tiny)),
        backends={**settings.backends, "llm": "mlx", "trainer": "mlx"},
        # Seeded sampling: random weights decode greedily to one repeated token; sampling shows subwords.
        sampling=SamplingParams(temperature=1.0, top_p=1.0, max_tokens=24, seed=seed),
    )
    container = container_for(settings)
    uc = container.use_cases
    registry = container.storage.adapter_store().load_registry()
    for family in FAMILIES:
        active = next((s.active_version for s in registry.families.values()
                       if s.family.name == family and s.active is not None), None)
        if active is not None:
            console.print(f"3. {family}: {active} already trained and active")
            continue
        dataset = write_tiny_chat_dataset(settings.data_dir / "training" / f"demo_{family}", family)
        outcome = uc.train_adapter().execute(
            family, dataset, iterations=20, rank=4, num_layers=2, batch_size=2,
            learning_rate=1e-3, max_seq_length=128, promote=True,
        )
        m = outcome.metrics
        console.print(f"3. Trained {outcome.version} ({m.duration_s:.1f} s, {m.tokens_per_s:.0f} tokens/s): "
                      f"val loss {m.start_val_loss:.3f} → {m.final_val_loss:.3f}; promoted")

    started = time.perf_counter()
    assistant = assistant_for(container, source="demo")
    registered = ", ".join(v.name for v in container.models.llm().registered_adapters())
    console.print(f"4. Model loaded once, adapters validated and registered in memory: {registered} "
                  f"({(time.perf_counter() - started) * 1000:.0f} ms)")
    console.print("5. A scripted chat (the same REPL as `evotr chat --verbose`):")
    Repl(assistant, console.file, verbose=True).run(_echo(SCRIPT, console))

    console.print(render.adapters_table(uc.list_adapters().execute()))
    console.print(Panel(
        "The tiny model has random weights and its adapters were trained for seconds on a "
        "handful of lines: its words are noise. What is real is the pipeline: routing with a "
        "threshold, one resident model with per-message LoRA switching, streaming, the SQLite "
        "turns and feedback.\nFor real answers: on a machine with network, `hf download "
        "mlx-community/Qwen2.5-3B-Instruct-4bit --local-dir DIR`, copy DIR here, then "
        "`evotr --model DIR chat` (or set `model.path: DIR` in evotr.yaml).",
        title="Note",
    ))


def _echo(lines: Iterable[str], console: Console) -> Iterator[str]:
    for line in lines:
        console.print(f"[bold cyan]sen>[/bold cyan] {line}")
        yield line
