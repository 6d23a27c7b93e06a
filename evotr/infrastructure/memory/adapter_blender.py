"""An AdapterBlender for fast tests: copies the trained folder and notes the strength beside it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from evotr.ports.adapter_blender import AdapterBlender

NOTE = "blend.json"


class InMemoryAdapterBlender(AdapterBlender):
    """Records every blend; the folder is the trained one plus ``blend.json`` ``{"strength", "start"}``."""

    def __init__(self) -> None:
        self.blends: list[tuple[Path | None, Path, float]] = []

    def blend(self, start: Path | None, trained: Path, strength: float, out: Path) -> None:
        """Copy ``trained`` to ``out`` and write the note."""
        self.blends.append((start, trained, strength))
        shutil.copytree(trained, out, dirs_exist_ok=True)
        (out / NOTE).write_text(json.dumps({"strength": strength, "start": None if start is None
                                            else str(start)}), "utf-8")
