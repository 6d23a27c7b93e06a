"""Which modules of a model carry LoRA wrappers, and how to (re)wrap them without nesting.

mlx-lm's ``linear_to_lora_layers`` wraps whatever it finds, so calling it on an already wrapped
model nests wrappers (``q_proj.linear.linear``). Here every wrapper is built from the original
base module (unwrapping first), with mlx-lm's own LoRA classes, so a path is wrapped at most once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import mlx.nn
from mlx_lm.models.switch_layers import QuantizedSwitchLinear, SwitchLinear
from mlx_lm.tuner.lora import LoRAEmbedding, LoRALinear, LoRASwitchLinear

from evotr.infrastructure.mlx.adapter_folder import AdapterFolder

# mlx.nn's layer classes are invisible to mypy (compiled module); typed Any on purpose.
nn: Any = mlx.nn
WRAPPERS = (LoRALinear, LoRASwitchLinear, LoRAEmbedding)
# The axis of lora_b that holds the rank (lora_a always has it on axis 1).
B_RANK_AXIS = {LoRALinear: 0, LoRAEmbedding: 0, LoRASwitchLinear: 2}
# The module types linear_to_lora_layers converts when the config names no keys.
_CONVERTIBLE = (nn.Linear, nn.QuantizedLinear, SwitchLinear, QuantizedSwitchLinear,
                nn.Embedding, nn.QuantizedEmbedding)


def base_module(module: Any) -> Any:
    """The original layer inside a LoRA wrapper, or ``module`` itself if it is not wrapped."""
    if isinstance(module, LoRAEmbedding):
        return module.embedding
    if isinstance(module, (LoRALinear, LoRASwitchLinear)):
        return module.linear
    return module


def unwrapped_modules(root: Any) -> dict[str, Any]:
    """``root.named_modules()`` as if no LoRA wrapper existed: wrapper paths map to the base."""
    found = dict(root.named_modules())
    wrapped = [name for name, module in found.items() if isinstance(module, WRAPPERS)]
    inside = tuple(f"{name}." for name in wrapped)
    return {name: base_module(module) for name, module in found.items()
            if not (inside and name.startswith(inside))}


def wrap(base: Any, rank: int) -> Any:
    """A fresh mlx-lm LoRA wrapper of ``rank`` around ``base`` (scale 0: no effect yet).

    Raises ValueError for a layer mlx-lm cannot convert or whose wrapper this swap cannot drive.
    """
    if hasattr(base, "to_lora"):
        wrapper = base.to_lora(r=rank, scale=0.0, dropout=0.0)
    elif isinstance(base, (nn.Linear, nn.QuantizedLinear)):
        wrapper = LoRALinear.from_base(base, r=rank, scale=0.0, dropout=0.0)
    elif isinstance(base, (SwitchLinear, QuantizedSwitchLinear)):
        wrapper = LoRASwitchLinear.from_base(base, r=rank, scale=0.0, dropout=0.0)
    elif isinstance(base, (nn.Embedding, nn.QuantizedEmbedding)):
        wrapper = LoRAEmbedding.from_base(base, r=rank, scale=0.0, dropout=0.0)
    else:
        raise ValueError(f"mlx-lm cannot convert a {type(base).__name__} to LoRA")
    if type(wrapper) not in B_RANK_AXIS:
        raise ValueError(f"{type(base).__name__} converts to {type(wrapper).__name__}, which "
                         "cannot be hot-swapped")
    return wrapper


def stock_targets(model: Any, num_layers: int, keys: Iterable[str] | None) -> set[str]:
    """The module paths ``linear_to_lora_layers(model, num_layers, {keys})`` would convert."""
    prefixes = {id(module): name for name, module in model.named_modules()}
    layers = list(model.layers)
    key_set = set(keys) if keys is not None else {
        rel for layer in layers for rel, module in unwrapped_modules(layer).items()
        if hasattr(module, "to_lora") or isinstance(module, _CONVERTIBLE)
    }
    # Same slice as mlx-lm: the last num_layers blocks (all of them for num_layers <= 0).
    targets = {
        f"{prefixes[id(layer)]}.{rel}"
        for layer in layers[-max(num_layers, 0):]
        for rel in unwrapped_modules(layer) if rel in key_set
    }
    targets.update(name for name in unwrapped_modules(model) if name in key_set)
    return targets


def fit_problems(model: Any, folder: AdapterFolder) -> list[str]:
    """Why ``folder``'s weights do not fit ``model`` the way stock mlx-lm would load them."""
    modules = unwrapped_modules(model)
    targets = stock_targets(model, folder.num_layers, folder.keys)
    problems = []
    for path, (a, b) in folder.modules.items():
        if path not in targets:
            where = "no such module" if path not in modules else "not a LoRA target"
            problems.append(f"{path}: {where} for num_layers={folder.num_layers}, "
                            f"keys={list(folder.keys) if folder.keys else 'all'}")
            continue
        try:
            probe = wrap(modules[path], folder.rank)
        except ValueError as exc:
            problems.append(f"{path}: {exc}")
            continue
        # The probe's arrays are lazy and never evaluated: only their shapes are read.
        for leaf, got, want in (("lora_a", a, probe.lora_a), ("lora_b", b, probe.lora_b)):
            if tuple(got.shape) != tuple(want.shape):
                problems.append(f"{path}.{leaf}: shape {tuple(got.shape)}, the model needs "
                                f"{tuple(want.shape)}")
    return problems


def set_module(model: Any, path: str, module: Any) -> None:
    """Put ``module`` at dotted ``path`` (list indices allowed), replacing what is there."""
    parent_path, _, key = path.rpartition(".")
    parent = model
    for part in parent_path.split(".") if parent_path else []:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    if isinstance(parent, list):
        parent[int(key)] = module
    else:
        setattr(parent, key, module)

