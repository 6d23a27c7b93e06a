"""``evotr model list``: the model folders under ``<home>/models/`` and what each holds."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evotr.infrastructure.models.importer import MARKER, folder_size


@dataclass(frozen=True)
class ModelEntry:
    """One folder under the models directory."""

    name: str
    path: Path
    size_bytes: int
    model_type: str | None
    architecture: str | None
    dtype: str | None
    quantization: int | None
    active: bool  # model.path points at it
    imported: bool  # written completely by `evotr model import-gguf` / `pull`

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the path as a string)."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _same_folder(folder: Path, model_path: str | None, home: Path | None) -> bool:
    if not model_path:
        return False
    candidates = [Path(model_path).expanduser()]
    if home is not None and not candidates[0].is_absolute():
        candidates.append(home / candidates[0])
    target = folder.resolve()
    return any(candidate.exists() and candidate.resolve() == target for candidate in candidates)


def list_models(models_dir: Path, model_path: str | None = None,
                home: Path | None = None) -> list[ModelEntry]:
    """Every folder with a config.json under ``models_dir``, sorted by name; ``[]`` if there is none."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    entries = []
    for folder in sorted(models_dir.iterdir()):
        if folder.name.startswith(".") or not (folder / "config.json").is_file():
            continue  # staging folders of an import in progress, stray files
        config = _read_json(folder / "config.json")
        marker = _read_json(folder / MARKER)
        quantization = config.get("quantization")
        bits = marker.get("quantization") if marker else (
            quantization.get("bits") if isinstance(quantization, dict) else None)
        entries.append(ModelEntry(
            name=folder.name,
            path=folder,
            size_bytes=folder_size(folder),
            model_type=config.get("model_type"),
            architecture=marker.get("architecture"),
            dtype=marker.get("dtype") or config.get("torch_dtype"),
            quantization=bits,
            active=_same_folder(folder, model_path, home),
            imported=bool(marker),
        ))
    return entries
