"""LoRA adapters for the shaped random models: mlx-lm adapter folders, seeded and cached.

Each adapter is what ``mlx_lm.lora`` writes (``adapter_config.json`` + ``adapters.safetensors``)
for the last ``num_layers`` blocks of a shape, with random non-zero weights so that activating
one really changes the model's output. They live in ``benchmarks/.cache/<shape>/adapters/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_support import read_json, staged_dir, write_json
from model_shapes import CACHE_DIR, FORMAT_VERSION, LORA_PROJECTIONS, Shape, get_shape

ADAPTER_MARKER = "evotr_bench_adapter.json"
ADAPTER_FAMILY = "bench"
ADAPTER_RANK = 8
ADAPTER_LAYERS = 8


def adapter_name(index: int) -> str:
    """``bench_v1``, ``bench_v2``, ...: valid evotr adapter version names."""
    return f"{ADAPTER_FAMILY}_v{index + 1}"


def adapter_version(index: int) -> Any:
    """The evotr ``AdapterVersion`` under which the ``index``-th adapter is registered."""
    from evotr.domain.adapters import AdapterVersion

    return AdapterVersion.parse(adapter_name(index))


def adapter_weights(shape: Shape, *, rank: int, num_layers: int, seed: int,
                    projections: Sequence[str] = LORA_PROJECTIONS) -> dict[str, Any]:
    """LoRA arrays keyed by mlx-lm's parameter names, for the last ``num_layers`` blocks.

    ``linear_to_lora_layers`` converts ``model.layers[-num_layers:]``; LoRALinear holds
    ``lora_a`` as (input, rank) and ``lora_b`` as (rank, output), both float32 as mlx-lm trains
    them. ``lora_b`` is non-zero (training starts it at zero) so the adapter changes the output.
    """
    import mlx.core as mx

    first = shape.num_layers - num_layers
    names = [(f"model.layers.{layer}.{proj}", *shape.projection_dims(proj))
             for layer in range(first, shape.num_layers) for proj in projections]
    keys = mx.random.split(mx.random.key(seed), 2 * len(names))
    weights: dict[str, Any] = {}
    for i, (prefix, n_in, n_out) in enumerate(names):
        weights[f"{prefix}.lora_a"] = mx.random.normal((n_in, rank), scale=n_in**-0.5, key=keys[2 * i])
        weights[f"{prefix}.lora_b"] = mx.random.normal((rank, n_out), scale=0.01, key=keys[2 * i + 1])
    return weights


def _adapter_marker(shape: Shape, rank: int, num_layers: int, seed: int) -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "shape": shape.name, "rank": rank, "num_layers": num_layers,
            "seed": seed, "projections": list(LORA_PROJECTIONS)}


def write_adapter(out_dir: Path, shape: Shape, *, rank: int, num_layers: int, seed: int) -> Path:
    """An mlx-lm adapter folder (adapter_config.json + adapters.safetensors), written atomically."""
    from evotr.infrastructure.mlx.adapter_folder import write_adapter_folder

    out_dir = Path(out_dir)
    with staged_dir(out_dir) as staging:
        weights = adapter_weights(shape, rank=rank, num_layers=num_layers, seed=seed)
        # No "keys": mlx-lm's default, LoRA on every linear layer of the converted blocks.
        write_adapter_folder(staging, weights, num_layers=num_layers, rank=rank, model=shape.name,
                             seed=seed, adapter_path=str(out_dir))
        write_json(_adapter_marker(shape, rank, num_layers, seed), staging / ADAPTER_MARKER)
    return out_dir


def ensure_adapters(shape: Shape | str, count: int, *, rank: int = ADAPTER_RANK,
                    num_layers: int = ADAPTER_LAYERS, cache_dir: Path = CACHE_DIR) -> list[Path]:
    """``count`` cached adapters for ``shape`` (``bench_v1``...), each with its own weights."""
    shape = get_shape(shape)
    num_layers = min(num_layers, shape.num_layers)
    root = Path(cache_dir) / shape.name / "adapters"
    paths = []
    for i in range(count):
        path = root / adapter_name(i)
        seed = 1000 + i
        complete = (path / "adapter_config.json").is_file() and (path / "adapters.safetensors").is_file()
        if not complete or read_json(path / ADAPTER_MARKER) != _adapter_marker(shape, rank,
                                                                              num_layers, seed):
            write_adapter(path, shape, rank=rank, num_layers=num_layers, seed=seed)
        paths.append(path)
    return paths


def adapter_nbytes(path: Path) -> int:
    """Sum of the array sizes in an adapter's ``adapters.safetensors``."""
    import mlx.core as mx

    return sum(int(a.nbytes) for a in mx.load(str(Path(path) / "adapters.safetensors")).values())
