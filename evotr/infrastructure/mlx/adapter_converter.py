"""The AdapterConverter on mlx-lm: checks stock ``mlx_lm lora`` folders for import, exports PEFT.

Nothing heavy is imported here at module level: MLX binds its BLAS when first imported, which
the CLI arranges before any command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evotr.domain.adapters import AdapterVersion
from evotr.domain.errors import EvoTrError
from evotr.infrastructure.mlx.adapter_folder import CONFIG_FILE, AdapterFolder, read_adapter_folder
from evotr.infrastructure.mlx.errors import AdapterLoadError
from evotr.infrastructure.mlx.peft_export import PeftExportError, write_peft_folder
from evotr.ports.adapter_converter import AdapterConverter, LoraSummary, PeftExport
from evotr.ports.llm_backend import LLMBackend

# read_adapter_folder names a version in its errors; an import has none yet, and only the
# error's reason (never this name) is shown.
_UNNAMED = AdapterVersion.parse("import_v1")
_MAX_LISTED = 3
_WHY_NOT = {
    "dora": ("it is a DoRA adapter (fine_tune_type 'dora'): DoRA rescales the base weights, so it cannot "
             "share the resident model with other adapters; retrain with fine_tune_type: lora, or "
             "fuse it (`mlx_lm fuse`) and point model.path at the fused model"),
    "full": ("it is a full fine-tune (fine_tune_type 'full'): its weights replace the model's rather than "
             "add a low-rank update; fuse it (`mlx_lm fuse`) and point model.path at the fused model, "
             "or retrain with fine_tune_type: lora"),
}


class AdapterImportError(EvoTrError):
    """A folder cannot be imported as an adapter version; nothing was stored."""


class MlxAdapterConverter(AdapterConverter):
    """Checks against the base model of ``llm`` when it is mlx-lm's (the model loads once, if not
    yet); with another backend (the in-memory one of tests) only the folder itself is checked."""

    def __init__(self, llm: LLMBackend | None = None) -> None:
        self._llm = llm

    def check_import(self, source: Path) -> LoraSummary:
        """The folder's LoRA settings once it is known to be a LoRA folder fitting the model."""
        source = Path(source)

        def fail(reason: str) -> AdapterImportError:
            return AdapterImportError(f"cannot import {source}: {reason}")

        if not source.exists():
            raise fail("no such folder; give the --adapter-path folder that `mlx_lm lora` wrote")
        kind = _config(source).get("fine_tune_type", "lora")
        if kind in _WHY_NOT:
            raise fail(_WHY_NOT[kind])
        try:
            folder = read_adapter_folder(_UNNAMED, source)
        except AdapterLoadError as exc:
            raise fail(exc.reason) from exc
        problems = self._fit_problems(folder)
        if problems:
            more = len(problems) - _MAX_LISTED
            listed = "; ".join(problems[:_MAX_LISTED]) + (f"; and {more} more" if more > 0 else "")
            model = getattr(self._llm, "model_id", "the base model")
            raise fail(f"it does not fit the base model {model} ({listed}); was it trained on another "
                       "model? Import it where model.path is that model")
        data = _config(source).get("data", "")
        return LoraSummary(folder.rank, folder.scale, folder.num_layers, tuple(sorted(folder.modules)),
                           data if isinstance(data, str) else "")

    def export_peft(self, source: Path, out: Path, base_model: str) -> PeftExport:
        """Read the mlx-lm folder ``source`` and write it as PEFT into ``out`` (see ``peft_export``)."""
        try:
            folder = read_adapter_folder(_UNNAMED, source)
        except AdapterLoadError as exc:
            raise PeftExportError(f"cannot export {source}: {exc.reason}") from exc
        return write_peft_folder(folder, Path(out), base_model)

    def _fit_problems(self, folder: AdapterFolder) -> list[str]:
        from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend

        if not isinstance(self._llm, MlxLLMBackend):
            return []
        from evotr.infrastructure.mlx.lora_layout import fit_problems

        return fit_problems(self._llm.model, folder)


def _config(source: Path) -> dict[str, Any]:
    """adapter_config.json as an object; {} when unreadable (read_adapter_folder then says why)."""
    try:
        config = json.loads((source / CONFIG_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}
