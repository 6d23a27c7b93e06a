"""Convert a GGUF file (gemma3, llama) into a folder that stock ``mlx_lm.load`` reads.

The folder is written under a temporary name beside the target and renamed when complete, so a
crash or Ctrl-C leaves the previous folder (or none), never half a model.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evotr.infrastructure.filesystem.atomic import replace_dir
from evotr.infrastructure.models.architectures import Architecture, architecture_for
from evotr.infrastructure.models.errors import ModelExistsError, ModelImportError
from evotr.infrastructure.models.gguf_file import GgufFile
from evotr.infrastructure.models.hf_config import model_config
from evotr.infrastructure.models.tokenizer_files import write_tokenizer

MARKER = "evotr_model.json"  # written last: a folder with it was imported completely
DTYPES = ("float32", "bfloat16")
QUANTIZE = ("none", "8", "4")
GROUP_SIZE = 64  # mlx-lm's default for affine quantization

# (stage, done, total): "reading", "tokenizer", "tensors" (done of 236, say), "saving"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote."""

    out_dir: Path
    architecture: str
    model_type: str
    dtype: str
    quantization: int | None
    tensors: int
    size_bytes: int
    seconds: float


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def import_gguf(source: Path, out_dir: Path, *, dtype: str = "float32", quantize: str = "none",
                force: bool = False, progress: Progress | None = None) -> ImportReport:
    """Convert ``source`` into ``out_dir``; an existing non-empty ``out_dir`` needs ``force``."""
    started = time.perf_counter()
    report = progress or _no_progress
    if dtype not in DTYPES:
        raise ModelImportError(f"--dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if quantize not in QUANTIZE:
        raise ModelImportError(f"--quantize {quantize!r} is not one of {', '.join(QUANTIZE)}")
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not force:
        raise ModelExistsError(f"{out_dir}: already exists and is not empty; choose another --out "
                               "or pass --force to replace it")
    report("reading", 0, 1)  # parsing a 262k-token vocabulary's metadata takes ~10 s
    gguf = GgufFile(source)
    arch = architecture_for(gguf.architecture, source)
    _check_tensor_names(gguf, arch)  # before any slow work
    report("reading", 1, 1)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    _umask_permissions(staging)
    try:
        report("tokenizer", 0, 1)
        special = write_tokenizer(gguf, arch.gguf_name, staging)
        report("tokenizer", 1, 1)
        weights = _read_weights(gguf, arch, dtype, report)
        vocab = int(weights["model.embed_tokens.weight"].shape[0])
        config = model_config(gguf, arch.model_type, vocab, "lm_head.weight" not in weights, special)
        config["torch_dtype"] = dtype
        model = _build_model(config, weights, source)
        del weights
        bits = None if quantize == "none" else int(quantize)
        report("saving", 0, 1)
        _save(model, config, bits, staging)
        _write_marker(staging, source, arch, dtype, bits)
        report("saving", 1, 1)
        replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ImportReport(out_dir, arch.gguf_name, arch.model_type, dtype, bits,
                        len(gguf.tensor_names()), folder_size(out_dir), time.perf_counter() - started)


def _umask_permissions(folder: Path) -> None:
    """mkdtemp makes the folder private (0700); a model folder gets what mkdir would give it."""
    mask = os.umask(0)
    os.umask(mask)
    folder.chmod(0o777 & ~mask)


def _check_tensor_names(gguf: GgufFile, arch: Architecture) -> None:
    for name in gguf.tensor_names():
        if arch.hf_name(name) is None:
            raise ModelImportError(
                f"{gguf.path}: tensor {name} has no counterpart in mlx-lm's {arch.model_type} model "
                f"(a {arch.gguf_name} variant this importer does not know); it cannot be converted")
    if not gguf.has_tensor("token_embd.weight"):
        raise ModelImportError(f"{gguf.path}: the GGUF file has no token_embd.weight; it is not a "
                               "complete model")


def _read_weights(gguf: GgufFile, arch: Architecture, dtype: str, report: Progress) -> dict[str, Any]:
    import mlx.core as mx

    heads = int(gguf.require("attention.head_count"))
    kv_heads = int(gguf.arch_value("attention.head_count_kv", heads))
    names = gguf.tensor_names()
    target = mx.float32 if dtype == "float32" else mx.bfloat16
    weights: dict[str, Any] = {}
    for done, name in enumerate(names):
        report("tensors", done, len(names))
        hf_name = str(arch.hf_name(name))  # every name was checked by _check_tensor_names
        values = arch.fix(name, gguf.tensor(name), heads, kv_heads)
        weights[hf_name] = mx.array(values).astype(target)
        mx.eval(weights[hf_name])  # materialise now, so the NumPy copy can be freed
    report("tensors", len(names), len(names))
    return weights


def _build_model(config: dict[str, Any], weights: dict[str, Any], source: Path) -> Any:
    """An mlx-lm model holding ``weights``; a missing, extra or misshapen tensor is an error."""
    import importlib

    module: Any = importlib.import_module(f"mlx_lm.models.{config['model_type']}")
    model = module.Model(module.ModelArgs.from_dict(config))
    if hasattr(model, "sanitize"):
        weights = model.sanitize(weights)  # e.g. Gemma drops lm_head and ties the embedding
    try:
        model.load_weights(list(weights.items()), strict=True)
    except ValueError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise ModelImportError(f"{source}: the tensors do not fit mlx-lm's {config['model_type']} model "
                               f"built from the file's metadata ({detail})") from exc
    model.eval()
    return model


def _save(model: Any, config: dict[str, Any], bits: int | None, folder: Path) -> None:
    from mlx_lm.utils import quantize_model, save_config, save_model

    if bits is not None:
        # From float32 weights the scales are float32: lossless at 8 bits and, on MLX's CPU
        # device, much faster than bf16 scales (issue 9).
        with contextlib.redirect_stdout(io.StringIO()):  # mlx-lm prints "[INFO] Quantized …"
            model, config = quantize_model(model, config, group_size=GROUP_SIZE, bits=bits)
    save_model(folder, model)
    save_config(dict(config), config_path=folder / "config.json")


def _write_marker(folder: Path, source: Path, arch: Architecture, dtype: str, bits: int | None) -> None:
    marker = {
        "format": 1,
        "source": Path(source).name,
        "architecture": arch.gguf_name,
        "model_type": arch.model_type,
        "dtype": dtype,
        "quantization": bits,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n", "utf-8")


def folder_size(folder: Path) -> int:
    """Bytes of every file under ``folder``."""
    return sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())
