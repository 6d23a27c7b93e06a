"""Read an mlx-lm LoRA adapter folder into memory once, checking what needs no model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evotr.domain.adapters import AdapterVersion
from evotr.infrastructure.mlx.errors import AdapterLoadError

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapters.safetensors"
_LEAVES = ("lora_a", "lora_b")


@dataclass(frozen=True)
class AdapterFolder:
    """One adapter as mlx-lm wrote it, weights in memory.

    ``modules`` maps a module path (``model.layers.1.self_attn.q_proj``) to its ``(lora_a,
    lora_b)`` arrays; ``num_layers`` and ``keys`` are the config's, which decide (as in
    ``mlx_lm.tuner.utils.linear_to_lora_layers``) which modules an adapter may touch.
    """

    version: AdapterVersion
    path: Path
    rank: int
    scale: float
    num_layers: int
    keys: tuple[str, ...] | None
    modules: dict[str, tuple[Any, Any]]


def read_adapter_folder(version: AdapterVersion, path: Path | str) -> AdapterFolder:
    """Load ``adapter_config.json`` and ``adapters.safetensors``; AdapterLoadError if unusable."""
    path = Path(path)

    def fail(reason: str) -> AdapterLoadError:
        return AdapterLoadError(version, path, reason)

    if not path.is_dir():
        raise fail("it is not a directory (expected an mlx-lm adapter folder)")
    missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if not (path / name).is_file()]
    if missing:
        raise fail(f"missing {' and '.join(missing)}; it must be an `mlx_lm lora` output folder")
    try:
        config = json.loads((path / CONFIG_FILE).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise fail(f"{CONFIG_FILE} is not readable JSON ({exc})") from exc
    rank, scale, num_layers, keys = _lora_settings(config, fail)
    modules = _load_weights(path / WEIGHTS_FILE, rank, fail)
    return AdapterFolder(version, path, rank, scale, num_layers, keys, modules)


def _lora_settings(config: Any, fail: Any) -> tuple[int, float, int, tuple[str, ...] | None]:
    if not isinstance(config, dict):
        raise fail(f"{CONFIG_FILE} must hold a JSON object")
    kind = config.get("fine_tune_type", "lora")
    if kind != "lora":
        # DoRA rescales the base weights and "full" replaces them: neither is a low-rank update
        # that zeroing can switch off, so they cannot share one resident model.
        raise fail(f"fine_tune_type {kind!r} cannot be hot-swapped (only 'lora' can); fuse it "
                   "with `mlx_lm fuse` and serve the fused model instead")
    params: Any = config.get("lora_parameters")
    try:
        rank = int(params["rank"])
        scale = float(params["scale"])
        num_layers = int(config["num_layers"])
        raw_keys = params.get("keys")
        keys = None if raw_keys is None else tuple(str(k) for k in raw_keys)
    except (TypeError, KeyError, ValueError) as exc:
        raise fail(f"{CONFIG_FILE} needs num_layers and lora_parameters.rank/scale ({exc!r})") from exc
    if rank < 1:
        raise fail(f"lora_parameters.rank must be >= 1, got {rank}")
    return rank, scale, num_layers, keys


def _load_weights(file: Path, rank: int, fail: Any) -> dict[str, tuple[Any, Any]]:
    import mlx.core as mx

    try:
        weights = mx.load(str(file))
    except (OSError, RuntimeError, ValueError) as exc:
        raise fail(f"{WEIGHTS_FILE} could not be read ({exc})") from exc
    if not isinstance(weights, dict) or not weights:
        raise fail(f"{WEIGHTS_FILE} holds no LoRA weights")
    pairs: dict[str, dict[str, Any]] = {}
    for name, array in weights.items():
        module, _, leaf = name.rpartition(".")
        if leaf not in _LEAVES or not module:
            raise fail(f"{name}: not a LoRA weight (expected <module>.lora_a / .lora_b)")
        if not mx.issubdtype(array.dtype, mx.floating):
            raise fail(f"{name}: dtype {array.dtype} is not floating point")
        pairs.setdefault(module, {})[leaf] = array
    modules: dict[str, tuple[Any, Any]] = {}
    for module, leaves in sorted(pairs.items()):
        if set(leaves) != set(_LEAVES):
            # mlx-lm would keep a random lora_a (or zero lora_b) here: a half adapter is a bug.
            raise fail(f"{module}: has {sorted(leaves)} but LoRA needs both lora_a and lora_b")
        a, b = leaves["lora_a"], leaves["lora_b"]
        # lora_a carries the rank on axis 1 for every mlx-lm LoRA layer (linear, switch, embedding).
        if a.ndim < 2 or a.shape[1] != rank:
            raise fail(f"{module}.lora_a: shape {tuple(a.shape)} does not have rank {rank} "
                       f"(lora_parameters.rank) on axis 1")
        modules[module] = (a, b)
    mx.eval([pair for pair in modules.values()])
    return modules


def write_adapter_folder(
    folder: Path, weights: dict[str, Any], *, num_layers: int, rank: int, scale: float = 20.0,
    model: str = "", **fields: Any,
) -> Path:
    """Save ``weights`` as an mlx-lm adapter: the config ``mlx_lm lora`` would write, plus safetensors.

    For adapters made without training (test fixtures, benchmarks); ``fields`` override config keys.
    """
    import mlx.core as mx
    from mlx_lm.lora import CONFIG_DEFAULTS
    from mlx_lm.utils import save_config

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        **CONFIG_DEFAULTS, "model": model, "train": True, "fine_tune_type": "lora",
        "adapter_path": str(folder), "num_layers": num_layers,
        "lora_parameters": {"rank": rank, "dropout": 0.0, "scale": scale}, **fields,
    }
    save_config(config, folder / CONFIG_FILE)
    mx.save_safetensors(str(folder / WEIGHTS_FILE), weights)
    return folder
