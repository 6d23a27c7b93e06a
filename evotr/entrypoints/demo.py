"""`evotr demo` (what `make demo` runs): offline, on a tiny model built here, through the real pipeline.

Steps: init a home → build the tiny model → point the home's evotr.yaml at it → train two tiny
LoRA adapters (tr_chat, python_coder) and promote them → start the assistant (validate, load
once, register adapters) → a scripted chat session in the real REPL, switching adapters per
message, with /good, /correct and /stats → the exact commands to carry on in that home.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

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
TINY_MODEL = "models/tiny-qwen2"  # under the home
# Seeded sampling: random weights decode greedily to one repeated token; sampling shows subwords.
DEMO_SAMPLING = SamplingParams(temperature=1.0, top_p=1.0, max_tokens=24)


def demo_settings(seed: int) -> dict[str, str | int | float | None]:
    """The evotr.yaml keys the demo sets in its home (dotted key → value).

    ``./`` makes model.path a folder beside the home's evotr.yaml, never a hub id.
    """
    return {"model.path": f"./{TINY_MODEL}", "backends.llm": "mlx", "backends.trainer": "mlx",
            "sampling.temperature": DEMO_SAMPLING.temperature, "sampling.top_p": DEMO_SAMPLING.top_p,
            "sampling.max_tokens": DEMO_SAMPLING.max_tokens, "sampling.seed": seed}


def run_demo(config: Path | None, home: Path, seed: int, console: Console, program: str = "evotr") -> None:
    """Run every step; each goes through the same use cases `evotr chat` uses.

    ``program`` is how the user ran evotr (e.g. ``.venv/bin/evotr``), for the printed next steps.
    """
    from evotr.container import build_container, container_for
    from evotr.entrypoints.chat_repl import Repl
    from evotr.entrypoints.library import assistant_for
    from evotr.infrastructure.mlx.tiny_datasets import write_tiny_chat_dataset
    from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

    console.rule("[bold]EVO-TR demo[/bold] (offline, tiny random model)")
    report = build_container(config, home).use_cases.init_home().execute()
    console.print(f"1. Home folder {report.home.resolve()} ({len(report.created)} paths created)")

    started = time.perf_counter()
    tiny = ensure_tiny_model(home / TINY_MODEL, seed=seed)
    console.print(f"2. Tiny Qwen2 model at {tiny} ({(time.perf_counter() - started) * 1000:.0f} ms)")

    # From here on the demo runs on the home's own evotr.yaml, exactly as the next command will.
    home_config = home / "evotr.yaml"
    written, kept = adopt_demo_settings(home_config, seed)
    if written:
        console.print(f"   {home_config} now uses it: {', '.join(written)}", highlight=False, markup=False)
    settings = build_container(home_config, home).settings()
    if kept:
        console.print(f"   kept your own {'; '.join(kept)} in {home_config}; the demo itself "
                      "runs on the tiny model anyway", highlight=False, markup=False)
        settings = attrs.evolve(
            settings,
            model=ModelSettings(str(tiny.resolve())),
            backends={**settings.backends, "llm": "mlx", "trainer": "mlx"},
            sampling=attrs.evolve(DEMO_SAMPLING, seed=seed),
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
    console.print("Next: talk to the demo's model yourself, in the same home:")
    for line in next_commands(program, home):
        # soft_wrap: a long path must stay one line that can be copied and run.
        console.print(f"  {line}", soft_wrap=True, highlight=False, markup=False)


def next_commands(program: str, home: Path) -> list[str]:
    """The commands the demo ends with (what the README shows for `make demo`)."""
    prefix = f"{program} --home {shlex.quote(str(home))}"
    if os.environ.get("EVOTR_CONFIG"):  # it would win over the home's evotr.yaml
        prefix += f" --config {shlex.quote(str(home / 'evotr.yaml'))}"
    return [f"{prefix} chat", f'{prefix} ask "Merhaba"']


def adopt_demo_settings(home_config: Path, seed: int) -> tuple[list[str], list[str]]:
    """Write the demo's keys into the home's evotr.yaml; return (written, kept) as ``key: value``.

    The rule: a key is (re)written only while it still holds the built-in default (nobody chose
    it) — a fresh home, or one made by an older demo that left the hub id there. A key that
    already holds the demo's value is left alone (a second `make demo` rewrites nothing), and
    any other value is the user's choice and is kept. Other keys are never touched: the file
    is edited line by line and replaced atomically.
    """
    from evotr.infrastructure.config.loader import default_config_dir
    from evotr.infrastructure.config.schema import check
    from evotr.infrastructure.config.schemas import EVOTR_SCHEMA
    from evotr.infrastructure.config.yaml_edit import set_scalars
    from evotr.infrastructure.config.yaml_source import load_yaml

    current = check(load_yaml(home_config), EVOTR_SCHEMA)
    builtin = check(load_yaml(default_config_dir() / "evotr.yaml"), EVOTR_SCHEMA)
    changes: dict[str, str | int | float | None] = {}
    kept: list[str] = []
    for key, wanted in demo_settings(seed).items():
        have = _lookup(current, key)
        if have == wanted:
            continue
        if have == _lookup(builtin, key):
            changes[key] = wanted
        else:
            kept.append(f"{key}: {have}")
    if changes:
        set_scalars(home_config, changes)
    return [f"{k}: {v}" for k, v in changes.items()], kept


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[part]
    return data


def _echo(lines: Iterable[str], console: Console) -> Iterator[str]:
    for line in lines:
        console.print(f"[bold cyan]sen>[/bold cyan] {line}")
        yield line
