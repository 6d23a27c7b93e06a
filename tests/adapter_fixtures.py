"""Genuine mlx-lm adapter folders for tests, written without training anything.

The defaults match the tiny test model (``evotr.infrastructure.mlx.tiny_model``: hidden size 64,
two layers, two KV heads of 16), so ``mlx_lm.load(tiny, adapter_path=folder)`` accepts them.
"""

from __future__ import annotations

from pathlib import Path

ADAPTER_PROJECTIONS = ("q_proj", "v_proj")
"""The attention projections the fake adapter has LoRA weights for."""


def fake_adapter_weights(
    *, rank: int = 4, num_layers: int = 2, seed: int = 0, hidden_size: int = 64, kv_size: int = 32,
    model_layers: int = 2,
) -> dict[str, object]:
    """The arrays ``write_fake_mlx_adapter`` saves, keyed by mlx-lm's parameter names.

    LoRALinear holds ``lora_a`` as (input_dims, rank) and ``lora_b`` as (rank, output_dims).
    mlx-lm wraps the LAST ``num_layers`` of a ``model_layers``-deep model, so those get weights.
    """
    import mlx.core as mx

    outputs = {"q_proj": hidden_size, "v_proj": kv_size}
    names = [
        (f"model.layers.{layer}.self_attn.{proj}", outputs[proj])
        for layer in range(model_layers - num_layers, model_layers)
        for proj in ADAPTER_PROJECTIONS
    ]
    keys = mx.random.split(mx.random.key(seed), 2 * len(names))
    weights: dict[str, object] = {}
    for i, (prefix, out_dims) in enumerate(names):
        weights[f"{prefix}.lora_a"] = mx.random.normal((hidden_size, rank), key=keys[2 * i])
        # Real training starts lora_b at zero; non-zero values make a wrong load detectable.
        weights[f"{prefix}.lora_b"] = 0.01 * mx.random.normal((rank, out_dims), key=keys[2 * i + 1])
    return weights


def write_fake_mlx_adapter(
    dir: Path,
    *,
    rank: int = 4,
    num_layers: int = 2,
    seed: int = 0,
    hidden_size: int = 64,
    kv_size: int = 32,
    model_layers: int = 2,
    checkpoint: bool = False,
) -> Path:
    """Write ``adapter_config.json`` and ``adapters.safetensors`` as ``mlx_lm.lora`` does.

    Saved through evotr's ``write_adapter_folder`` (mlx-lm's defaults, ``save_config`` and
    ``mx.save_safetensors``). With ``checkpoint``
    a ``0000100_adapters.safetensors`` is written too, like mlx-lm's periodic saves.
    Returns ``dir``.
    """
    import mlx.core as mx

    from evotr.infrastructure.mlx.adapter_folder import write_adapter_folder

    weights = fake_adapter_weights(
        rank=rank, num_layers=num_layers, seed=seed, hidden_size=hidden_size, kv_size=kv_size,
        model_layers=model_layers,
    )
    dir = write_adapter_folder(dir, weights, num_layers=num_layers, rank=rank,
                               model="evotr-tiny-test-model", data="data/training", seed=seed)
    if checkpoint:
        mx.save_safetensors(str(dir / "0000100_adapters.safetensors"), weights)
    return dir
