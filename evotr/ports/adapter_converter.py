"""Moves LoRA adapters between evotr and other tools: stock mlx-lm folders in, PEFT folders out."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import attrs


@attrs.frozen(slots=True)
class LoraSummary:
    """What an mlx-lm LoRA adapter folder holds: its settings and the module paths it changes."""

    rank: int
    scale: float
    num_layers: int
    modules: tuple[str, ...]
    dataset: str = ""

    @property
    def target_modules(self) -> tuple[str, ...]:
        """The modules' leaf names (``q_proj``, ``v_proj``), sorted, as PEFT's config lists them."""
        return tuple(sorted({m.rpartition(".")[2] for m in self.modules}))


@attrs.frozen(slots=True)
class PeftExport:
    """A PEFT LoRA folder that was written: where, and the config fields servers read."""

    folder: Path
    r: int
    lora_alpha: float
    target_modules: tuple[str, ...]
    tensors: int
    base_model: str


@runtime_checkable
class AdapterConverter(Protocol):
    """Checks adapter folders made elsewhere and writes evotr's adapters in other formats."""

    def check_import(self, source: Path) -> LoraSummary:
        """Check that ``source`` is an mlx-lm LoRA adapter folder that fits the base model.

        Raises an EvoTrError naming the folder and the problem (a missing file, DoRA or a full
        fine-tune, a shape or layer the base model does not have); nothing is changed.
        """
        ...

    def export_peft(self, source: Path, out: Path, base_model: str) -> PeftExport:
        """Write ``source`` (an mlx-lm LoRA folder) as a PEFT LoRA folder ``out``, atomically.

        ``base_model`` goes into ``base_model_name_or_path``. ``out`` must not exist or be empty.
        """
        ...
