"""Cheap checks of mlx-lm's own adapter files: what would stop ``load_adapters`` reading them.

Shared by the filesystem and the in-memory adapter store. Nothing here opens files by path:
callers hand in bytes or an opener, so both stores judge alike.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from evotr.domain.adapter_manifest import MANIFEST_FILE, REQUIRED_ADAPTER_FILES, AdapterManifest
from evotr.domain.adapters import AdapterVersion
from evotr.infrastructure.filesystem.errors import AdapterStoreError

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapters.safetensors"
# adapter_config.json is a few kB; anything this big is not one.
MAX_CONFIG_BYTES = 1_000_000
# The safetensors format itself caps the JSON header at 100 MB.
_MAX_HEADER_BYTES = 100_000_000
_ITEMSIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8,
}
_FINE_TUNE_TYPES = ("lora", "dora", "full")
_MAX_LISTED = 3


def required_file_problems(name: str, size: int | None, opener: Callable[[], BinaryIO]) -> list[str]:
    """Problems of one of mlx-lm's two files; ``size`` None means the file is missing."""
    if size is None:
        return [f"{name} is missing"]
    if size == 0:
        return [f"{name} is empty"]
    with opener() as handle:
        if name == CONFIG_FILE:
            if size > MAX_CONFIG_BYTES:
                return [f"{name} is too large to be an adapter config ({size} bytes)"]
            return config_problems(handle.read())
        if name == WEIGHTS_FILE:
            return safetensors_problems(handle, size)
    return []


def config_problems(data: bytes) -> list[str]:
    """What stops mlx-lm's ``load_adapters`` from reading this adapter_config.json."""
    try:
        config = json.loads(data.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        return [f"{CONFIG_FILE} is not valid JSON ({exc})"]
    if not isinstance(config, dict):
        return [f"{CONFIG_FILE} must hold a JSON object"]
    kind = config.get("fine_tune_type", "lora")
    if kind not in _FINE_TUNE_TYPES:
        return [f"{CONFIG_FILE}: fine_tune_type {kind!r} is not one of {', '.join(_FINE_TUNE_TYPES)}"]
    if kind == "full":
        return []  # full fine-tunes are loaded as plain weights; nothing else is read
    problems: list[str] = []
    # load_adapters reads config.num_layers unconditionally; older mlx-lm wrote lora_layers.
    if "num_layers" not in config:
        hint = " (it has 'lora_layers' from an older mlx-lm; rename it)" if "lora_layers" in config else ""
        problems.append(f"{CONFIG_FILE} lacks 'num_layers'{hint}")
    elif not _is_int(config["num_layers"]):
        problems.append(f"{CONFIG_FILE}: 'num_layers' must be a whole number")
    lora = config.get("lora_parameters")
    if not isinstance(lora, dict):
        problems.append(f"{CONFIG_FILE} lacks 'lora_parameters' (an object with rank, scale, dropout)")
        return problems
    for key in ("rank", "scale", "dropout"):
        if key not in lora:
            problems.append(f"{CONFIG_FILE}: lora_parameters lacks '{key}'")
        elif key == "rank" and not (_is_int(lora[key]) and lora[key] >= 1):
            problems.append(f"{CONFIG_FILE}: lora_parameters.rank must be a whole number >= 1")
        elif not _is_number(lora[key]):
            problems.append(f"{CONFIG_FILE}: lora_parameters.{key} must be a number")
    return problems


def safetensors_problems(handle: BinaryIO, size: int) -> list[str]:
    """Check a safetensors file from its header alone: 8-byte length, JSON header, offsets.

    Tensors are never read, so this is cheap even for large adapters; a file cut short is
    caught because its tensors' offsets point past the end of the data.
    """
    prefix = handle.read(8)
    if len(prefix) < 8:
        return [f"{WEIGHTS_FILE} is too short to be a safetensors file ({size} bytes)"]
    length = int.from_bytes(prefix, "little")
    if length > _MAX_HEADER_BYTES or 8 + length > size:
        return [f"{WEIGHTS_FILE} is truncated or not safetensors: its header claims {length} bytes "
                f"but the file has {size}"]
    try:
        header = json.loads(handle.read(length).decode("utf-8"))
    except ValueError as exc:
        return [f"{WEIGHTS_FILE} is not safetensors: its header is not valid JSON ({exc})"]
    if not isinstance(header, dict):
        return [f"{WEIGHTS_FILE} is not safetensors: its header is not a JSON object"]
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if not tensors:
        return [f"{WEIGHTS_FILE} holds no tensors"]
    data_size = size - 8 - length
    problems = [
        f"{WEIGHTS_FILE}: tensor {name!r} {problem}"
        for name, info in sorted(tensors.items())
        if (problem := _tensor_problem(info, data_size))
    ]
    if len(problems) > _MAX_LISTED:
        more = len(problems) - _MAX_LISTED
        problems = [*problems[:_MAX_LISTED], f"{WEIGHTS_FILE}: ... and {more} more tensor problem(s)"]
    return problems


def _tensor_problem(info: object, data_size: int) -> str | None:
    if not isinstance(info, dict):
        return "has no dtype/shape/data_offsets entry"
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype, str) or not isinstance(shape, list) or not all(
        _is_int(d) and d >= 0 for d in shape
    ):
        return "has an invalid dtype or shape"
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        return "has invalid data_offsets"
    begin, end = offsets
    if end > data_size:
        return f"ends at byte {end} but the data has only {data_size} bytes (file truncated)"
    itemsize = _ITEMSIZE.get(dtype)
    if itemsize is not None and end - begin != math.prod(shape) * itemsize:
        return f"has {end - begin} bytes but {dtype}{shape} needs {math.prod(shape) * itemsize}"
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def manifest_problems(manifest: AdapterManifest | None, version: AdapterVersion) -> list[str]:
    """A manifest must exist and name the version whose folder holds it."""
    if manifest is None:
        return [f"{MANIFEST_FILE} is missing"]
    if manifest.version != version:
        return [f"{MANIFEST_FILE} names {manifest.version}, not {version}"]
    return []


def check_addable(version: AdapterVersion, folder: Path, source_dir: Path, manifest: AdapterManifest) -> None:
    """Both stores' precondition for ``add``: a matching manifest and mlx-lm's two files present."""
    if manifest.version != version:
        raise AdapterStoreError(folder, f"the manifest is for {manifest.version}, not {version}")
    missing = [name for name in REQUIRED_ADAPTER_FILES if not (source_dir / name).is_file()]
    if missing:
        raise AdapterStoreError(source_dir, f"missing {', '.join(missing)}; not an mlx-lm adapter folder")
