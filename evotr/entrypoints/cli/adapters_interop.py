"""`evotr adapters import|export`: bring in a stock `mlx_lm lora` adapter; write one as PEFT.

Attached to the `adapters` group in ``cli.py``. PEFT folders serve on bigger machines with
vLLM (`vllm serve BASE --enable-lora --lora-modules NAME=DIR`), LoRAX or PEFT itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.errors import friendly_errors


@click.command("import")
@click.argument("source", type=click.Path(path_type=Path), metavar="DIR")
@click.option("--family", required=True, help="Family the adapter becomes the next version of.")
@click.option("--promote", is_flag=True,
              help="Make it active (the first version of a family always is).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
@friendly_errors
def adapters_import(state: Any, source: Path, family: str, promote: bool, as_json: bool) -> None:
    """Add DIR, a `python -m mlx_lm lora` adapter folder, as FAMILY's next version.

    DIR must be a LoRA adapter of the configured base model (its shapes and layers are checked);
    only adapter_config.json and adapters.safetensors are copied, with a manifest naming DIR.
    """
    outcome = state.container().use_cases.import_adapter().execute(source, family, promote=promote)
    summary = outcome.summary
    if as_json:
        render.print_json(Console(), {
            "version": outcome.version.name, "folder": str(outcome.folder), "promoted": outcome.promoted,
            "rank": summary.rank, "scale": summary.scale, "num_layers": summary.num_layers,
            "modules": list(summary.modules), "source": str(source),
        })
        return
    click.echo(f"imported {source} as {outcome.version} → {outcome.folder} (LoRA rank {summary.rank}, "
               f"scale {summary.scale:g}, {len(summary.modules)} modules: "
               f"{', '.join(summary.target_modules)})")
    if outcome.promoted:
        click.echo(f"{outcome.version} is now the active version of {outcome.version.family}")
    else:
        click.echo(f"not active yet: `evotr adapters promote {outcome.version}` makes it active")


@click.command("export")
@click.argument("version")
@click.option("--format", "fmt", type=click.Choice(["peft"]), default="peft", show_default=True,
              help="Folder format to write.")
@click.option("--out", required=True, type=click.Path(path_type=Path), metavar="DIR",
              help="New (or empty) folder to write.")
@click.option("--base-model", default=None, metavar="ID",
              help="base_model_name_or_path to record (default: the manifest's base model), e.g. the "
                   "transformers id a server loads: Qwen/Qwen2.5-3B-Instruct.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
@friendly_errors
def adapters_export(state: Any, version: str, fmt: str, out: Path, base_model: str | None,
                    as_json: bool) -> None:
    """Write VERSION (e.g. tr_chat_v2) as a PEFT LoRA folder for vLLM, LoRAX or PEFT."""
    done = state.container().use_cases.export_adapter().execute(version, out, base_model=base_model)
    if as_json:
        render.print_json(Console(), {
            "version": version, "format": fmt, "folder": str(done.folder), "r": done.r,
            "lora_alpha": done.lora_alpha, "target_modules": list(done.target_modules),
            "tensors": done.tensors, "base_model_name_or_path": done.base_model,
        })
        return
    click.echo(f"wrote {done.folder} (PEFT LoRA: r {done.r}, lora_alpha {done.lora_alpha:g}, "
               f"target_modules {', '.join(done.target_modules)}; {done.tensors} tensors)")
    base = done.base_model or "BASE"
    click.echo(f"base_model_name_or_path: {done.base_model or '(none)'} — servers need the transformers "
               "model of the same architecture and size (an MLX conversion or quantization is not "
               "one); --base-model sets it")
    click.echo(f"serve it: vllm serve {base} --enable-lora --lora-modules {version}={done.folder}")
