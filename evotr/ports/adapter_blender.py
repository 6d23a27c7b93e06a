"""Makes a gentler adapter: part of the way from a starting adapter (or the base model) to a trained one."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class AdapterBlender(Protocol):
    """Writes an adapter folder whose weights are ``start + strength · (trained − start)``.

    ``start`` None means the base model (no adapter): the LoRA update itself is scaled by
    ``strength``. ``strength`` 1.0 is the trained adapter, 0.0 the start. Both folders must have
    the same LoRA shape; anything else is an EvoTrError naming the folders.
    """

    def blend(self, start: Path | None, trained: Path, strength: float, out: Path) -> None:
        """Write the blended adapter folder to ``out`` (absent or empty)."""
        ...
