"""Write an mlx-lm LoRA adapter as a PEFT LoRA folder, the format vLLM, LoRAX and PEFT load.

The maths is the same low-rank update written two ways. mlx-lm's ``LoRALinear`` adds
``scale · (x @ lora_a) @ lora_b`` with ``lora_a`` (in, r) and ``lora_b`` (r, out); PEFT's
``lora.Linear`` adds ``lora_B(lora_A(x)) · lora_alpha / r`` where the two are ``nn.Linear``
layers whose weights are (r, in) and (out, r). So ``lora_A.weight = lora_aᵀ``, ``lora_B.weight =
lora_bᵀ`` and ``lora_alpha = scale · r`` (rsLoRA off). Keys: PEFT wraps the transformers model
twice (``PeftModel`` → ``LoraModel``), so each key is ``base_model.model.`` + the module path
+ ``.lora_A.weight``; mlx-lm keeps transformers' module paths (``model.layers.3.self_attn.q_proj``)
for the models it loads, so the path carries over unchanged. PEFT strips the adapter name
(``.default``) when saving, and so do we.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from evotr.domain.errors import EvoTrError
from evotr.infrastructure.filesystem.atomic import fsync_dir, write_synced
from evotr.infrastructure.mlx.adapter_folder import CONFIG_FILE, AdapterFolder
from evotr.ports.adapter_converter import PeftExport

PEFT_CONFIG_FILE = "adapter_config.json"
PEFT_WEIGHTS_FILE = "adapter_model.safetensors"
PEFT_PREFIX = "base_model.model."
_LAYER_RE = re.compile(r"(?:^|\.)layers\.(\d+)\.")


class PeftExportError(EvoTrError):
    """The adapter cannot be written as PEFT, or ``--out`` cannot be used; nothing was written."""


def peft_key(module: str, matrix: str) -> str:
    """PEFT's saved key for ``matrix`` ("A" or "B") of the mlx-lm module path ``module``."""
    return f"{PEFT_PREFIX}{module}.lora_{matrix}.weight"


def lora_alpha(rank: int, scale: float) -> int | float:
    """PEFT's ``lora_alpha`` giving mlx-lm's ``scale`` (a whole number when it is one, as PEFT writes)."""
    alpha = scale * rank
    return int(alpha) if float(alpha).is_integer() else alpha


def peft_tensors(folder: AdapterFolder) -> dict[str, Any]:
    """Every LoRA pair of ``folder`` under PEFT's key, transposed; PeftExportError for a module
    PEFT's plain linear LoRA cannot hold (mixture-of-experts switch layers, embeddings)."""
    import mlx.core as mx

    tensors: dict[str, Any] = {}
    for module, (a, b) in sorted(folder.modules.items()):
        if a.ndim != 2 or b.ndim != 2:
            raise PeftExportError(f"{module}: a {a.ndim}-D LoRA (mixture-of-experts layer) has no PEFT "
                                  "equivalent; only linear layers can be exported")
        if "embed" in module.rpartition(".")[2]:
            # mlx-lm's LoRAEmbedding is stored like a linear pair; PEFT names it differently.
            raise PeftExportError(f"{module}: LoRA on an embedding is not exported; only linear layers")
        # contiguous: a transposed view would otherwise be saved in its original memory order.
        tensors[peft_key(module, "A")] = mx.contiguous(a.T)
        tensors[peft_key(module, "B")] = mx.contiguous(b.T)
    return tensors


def peft_config(folder: AdapterFolder, base_model: str, dropout: float = 0.0) -> dict[str, Any]:
    """``adapter_config.json`` as PEFT's ``LoraConfig.save_pretrained`` writes it for this adapter.

    ``r``, ``lora_alpha`` and ``target_modules`` are what vLLM requires; ``layers_to_transform``
    keeps PEFT from adding (zero) LoRA layers where mlx-lm trained none (its ``num_layers``).
    """
    modules = sorted(folder.modules)
    layers = [_LAYER_RE.search(m) for m in modules]
    in_layers = all(layers)
    return {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model or None,
        "revision": None,
        "inference_mode": True,
        "r": folder.rank,
        "lora_alpha": lora_alpha(folder.rank, folder.scale),
        "lora_dropout": dropout,
        "target_modules": sorted({m.rpartition(".")[2] for m in modules}),
        "layers_to_transform": sorted({int(m.group(1)) for m in layers if m}) if in_layers else None,
        "layers_pattern": "layers" if in_layers else None,
        "bias": "none",
        "fan_in_fan_out": False,
        "modules_to_save": None,
        "init_lora_weights": True,
        "use_rslora": False,
        "use_dora": False,
        "rank_pattern": {},
        "alpha_pattern": {},
    }


def write_peft_folder(folder: AdapterFolder, out: Path, base_model: str) -> PeftExport:
    """Write ``folder`` as a PEFT LoRA folder ``out``: complete or not at all.

    ``out`` may be missing or an empty folder; anything else is refused (never overwritten).
    The files are staged beside ``out`` and renamed into place.
    """
    import mlx.core as mx

    out = Path(out)
    _check_out(out)
    tensors = peft_tensors(folder)
    config = peft_config(folder, base_model, _dropout(folder.path))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}-", dir=out.parent))
    except OSError as exc:
        raise PeftExportError(f"cannot write {out.parent}: {exc.strerror or exc}") from exc
    try:
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        write_synced(staging / PEFT_CONFIG_FILE, text.encode("utf-8"))
        # "format": "pt" is what transformers/PEFT write; some loaders check it.
        mx.save_safetensors(str(staging / PEFT_WEIGHTS_FILE), tensors, metadata={"format": "pt"})
        with (staging / PEFT_WEIGHTS_FILE).open("rb+") as handle:
            os.fsync(handle.fileno())
        fsync_dir(staging)
        if out.is_dir():
            out.rmdir()  # empty, checked above
        os.rename(staging, out)
        fsync_dir(out.parent)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise PeftExportError(f"cannot write {out}: {exc.strerror or exc}") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PeftExport(out, folder.rank, float(config["lora_alpha"]), tuple(config["target_modules"]),
                      len(tensors), base_model)


def _check_out(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise PeftExportError(f"--out {out} exists and is not a folder; give a new folder")
    if out.is_dir() and any(out.iterdir()):
        raise PeftExportError(f"--out {out} is not empty; give a new or empty folder (nothing is "
                              "overwritten)")


def _dropout(path: Path) -> float:
    """mlx-lm's lora_parameters.dropout (0.0 if absent); read_adapter_folder checked the file."""
    try:
        params = json.loads((path / CONFIG_FILE).read_text("utf-8")).get("lora_parameters", {})
        return float(params.get("dropout", 0.0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0
