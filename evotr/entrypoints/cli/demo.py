"""`evotr demo` (what `make demo` runs): offline, on a real small model, through the real pipeline.

Steps: init a home → import Gemma 3 270M from its Python package once (``--tiny``: build a tiny
random model instead) → point the home's evotr.yaml at it → train two LoRA adapters (tr_chat,
python_coder) and promote them → start the assistant (validate, load once, register adapters) →
a scripted chat session in the real REPL, switching adapters per message, with /good, /correct
and /stats → how long each step took → the exact commands to carry on in that home.
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
from evotr.domain.adapters import AdapterFamily
from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.demo_plans import GEMMA_PLAN, PLANS, TINY, DemoPlan, require_gemma_extra

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
TINY_MODEL = TINY.folder  # under the home
DEMO_SAMPLING = TINY.sampling


def demo_settings(seed: int, plan: DemoPlan = TINY) -> dict[str, str | int | float | None]:
    """The evotr.yaml keys the demo sets in its home (dotted key → value)."""
    return plan.settings(seed)


class _Clock:
    """Times each step; the summary at the end names the slow ones."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._started = time.perf_counter()
        self.steps: list[tuple[str, float]] = []

    def step(self, label: str, started: float) -> float:
        seconds = time.perf_counter() - started
        self.steps.append((label, seconds))
        return seconds

    def summary(self) -> None:
        total = time.perf_counter() - self._started
        slow = [label for label, seconds in self.steps if seconds >= 0.2 * total and seconds >= 5]
        parts = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in self.steps)
        self._console.print(f"Timings: {parts}; total {total:.0f} s.", highlight=False, markup=False)
        if slow:
            self._console.print(f"Slow: {', '.join(slow)}. On a CPU every token goes through the whole "
                                "model (for Gemma 3 270M most of it is the 262,144-word output layer); "
                                "training also runs it backwards.", highlight=False, markup=False)


def run_demo(config: Path | None, home: Path, seed: int, console: Console, program: str = "evotr",
             tiny: bool = False) -> None:
    """Run every step; each goes through the same use cases `evotr chat` uses.

    ``program`` is how the user ran evotr (e.g. ``.venv/bin/evotr``), for the printed next steps;
    ``tiny`` runs on a tiny random model built in a second instead of the real Gemma 3 270M.
    """
    from evotr.container import build_container, container_for
    from evotr.entrypoints.cli.chat_repl import Repl
    from evotr.entrypoints.cli.demo_learning import learning_round
    from evotr.entrypoints.library import assistant_for

    plan = TINY if tiny else GEMMA_PLAN
    if not tiny:
        require_gemma_extra(home)  # one line before anything is written
    clock = _Clock(console)
    console.rule(f"[bold]EVO-TR demo[/bold] ({plan.title})")
    started = time.perf_counter()
    report = build_container(config, home).use_cases.init_home().execute()
    clock.step("home", started)
    console.print(f"1. Home folder {report.home.resolve()} ({len(report.created)} paths created)")

    started = time.perf_counter()
    if not tiny:
        console.print("2. Importing Gemma 3 270M (once per home, ~30 s) …")
    prepared = plan.prepare(home, seed)
    seconds = clock.step("model", started)
    console.print(f"2. {prepared.what} at {prepared.path} ({seconds:.1f} s)", highlight=False, markup=False)

    # From here on the demo runs on the home's own evotr.yaml, exactly as the next command will.
    home_config = home / "evotr.yaml"
    written, kept = adopt_demo_settings(home_config, seed, plan)
    if written:
        console.print(f"   {home_config} now uses it: {', '.join(written)}", highlight=False, markup=False)
    settings = build_container(home_config, home).settings()
    if kept:
        console.print(f"   kept your own {'; '.join(kept)} in {home_config}; the demo itself "
                      "runs on its own model anyway", highlight=False, markup=False)
        settings = attrs.evolve(
            settings,
            model=ModelSettings(str(prepared.path.resolve())),
            backends={**settings.backends, "llm": "mlx", "trainer": "mlx"},
            sampling=attrs.evolve(plan.sampling, seed=seed),
        )
    container = container_for(settings)
    uc = container.use_cases
    store = container.storage.adapter_store()
    registry = store.load_registry()
    for family in FAMILIES:
        active = registry.active(AdapterFamily(family))
        manifest = store.manifest(active) if active is not None else None
        # An adapter trained on the other demo's model would not fit this one: train anew.
        if active is not None and manifest is not None and _same_model(manifest.base_model, prepared.path):
            console.print(f"3. {family}: {active} already trained and active")
            continue
        started = time.perf_counter()
        dataset = plan.dataset(settings.data_dir / "training" / f"demo_{plan.name}_{family}", family)
        outcome = uc.train_adapter().execute(family, dataset, promote=True, **plan.training.as_kwargs())
        seconds = clock.step(f"training {family}", started)
        m = outcome.metrics
        console.print(f"3. Trained {outcome.version} ({seconds:.1f} s, {m.tokens_per_s:.0f} tokens/s): "
                      f"val loss {m.start_val_loss:.3f} → {m.final_val_loss:.3f}; promoted")

    started = time.perf_counter()
    assistant = assistant_for(container, source="demo")
    registered = ", ".join(v.name for v in container.models.llm().registered_adapters())
    seconds = clock.step("loading", started)
    console.print(f"4. Model loaded once, adapters validated and registered in memory: {registered} "
                  f"({seconds:.1f} s)")
    console.print("5. A scripted chat (the same REPL as `evotr chat --verbose`):")
    started = time.perf_counter()
    Repl(assistant, console.file, verbose=True).run(_echo(SCRIPT, console))
    clock.step("chat", started)
    if plan.learning_round:  # a tiny random model cannot learn facts in a demo's minute
        learning_round(container, assistant, console, clock.step)

    console.print(render.adapters_table(uc.list_adapters().execute()))
    console.print(Panel(plan.note, title="Note"))
    clock.summary()
    console.print("Next: talk to the demo's model yourself, in the same home:")
    for line in next_commands(program, home):
        # soft_wrap: a long path must stay one line that can be copied and run.
        console.print(f"  {line}", soft_wrap=True, highlight=False, markup=False)


def _same_model(base_model: str, folder: Path) -> bool:
    try:
        return Path(base_model).resolve() == folder.resolve()
    except (OSError, ValueError):
        return False


def next_commands(program: str, home: Path) -> list[str]:
    """The commands the demo ends with (what the README shows for `make demo`)."""
    prefix = f"{program} --home {shlex.quote(str(home))}"
    if os.environ.get("EVOTR_CONFIG"):  # it would win over the home's evotr.yaml
        prefix += f" --config {shlex.quote(str(home / 'evotr.yaml'))}"
    return [f"{prefix} chat", f'{prefix} ask "Merhaba"']


def adopt_demo_settings(home_config: Path, seed: int, plan: DemoPlan = TINY) -> tuple[list[str], list[str]]:
    """Write the demo's keys into the home's evotr.yaml; return (written, kept) as ``key: value``.

    The rule: a key is (re)written only while nobody chose it: it holds the built-in default (a
    fresh home, or one made by an older demo that left the hub id there) or the value any demo
    plan writes (a home made by `evotr demo --tiny` moves to Gemma and back). A key that already
    holds this plan's value is left alone (a second `make demo` rewrites nothing), and any other
    value is the user's choice and is kept. Other keys are never touched: the file is edited
    line by line and replaced atomically.
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
    for key, wanted in plan.settings(seed).items():
        have = _lookup(current, key)
        if have == wanted:
            continue
        ours = [_lookup(builtin, key)] + [other.settings(seed)[key] for other in PLANS.values()]
        if have in ours:
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
