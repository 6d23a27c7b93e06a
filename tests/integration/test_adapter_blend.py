"""MlxAdapterBlender: the gate's gentler candidates, checked tensor by tensor."""

from __future__ import annotations

from pathlib import Path

import pytest

from evotr.domain.errors import EvoTrError
from evotr.infrastructure.mlx.adapter_blend import MlxAdapterBlender
from evotr.infrastructure.mlx.adapter_folder import write_adapter_folder
from evotr.ports.adapter_blender import AdapterBlender

pytestmark = pytest.mark.integration
KEY = "model.layers.0.self_attn.q_proj"


def adapter(folder: Path, seed: int, rank: int = 4) -> Path:
    import mlx.core as mx

    mx.random.seed(seed)
    weights = {f"{KEY}.lora_a": mx.random.normal((16, rank)), f"{KEY}.lora_b": mx.random.normal((rank, 16))}
    return write_adapter_folder(folder, weights, num_layers=1, rank=rank)


def load(folder: Path) -> dict[str, object]:
    import mlx.core as mx

    return mx.load(str(folder / "adapters.safetensors"))  # type: ignore[return-value]


def test_it_implements_the_port() -> None:
    assert isinstance(MlxAdapterBlender(), AdapterBlender)


def test_from_the_base_model_the_update_is_scaled_exactly(tmp_path: Path) -> None:
    import mlx.core as mx

    trained = adapter(tmp_path / "trained", 1)
    MlxAdapterBlender().blend(None, trained, 0.25, tmp_path / "blend")
    before, after = load(trained), load(tmp_path / "blend")
    assert mx.array_equal(after[f"{KEY}.lora_a"], before[f"{KEY}.lora_a"]).item()  # type: ignore[arg-type]
    assert mx.allclose(after[f"{KEY}.lora_b"], 0.25 * before[f"{KEY}.lora_b"]).item()  # type: ignore[arg-type, operator]
    config = "adapter_config.json"
    assert (tmp_path / "blend" / config).read_bytes() == (trained / config).read_bytes()


def test_from_an_adapter_each_end_is_exact_and_the_middle_is_the_mean(tmp_path: Path) -> None:
    import mlx.core as mx

    start, trained = adapter(tmp_path / "start", 1), adapter(tmp_path / "trained", 2)
    for strength in (0.0, 0.5, 1.0):
        MlxAdapterBlender().blend(start, trained, strength, tmp_path / f"s{strength}")
    a, b = load(start), load(trained)
    for key in a:
        assert mx.array_equal(load(tmp_path / "s0.0")[key], a[key]).item()  # type: ignore[arg-type]
        assert mx.array_equal(load(tmp_path / "s1.0")[key], b[key]).item()  # type: ignore[arg-type]
        assert mx.allclose(load(tmp_path / "s0.5")[key], (a[key] + b[key]) / 2).item()  # type: ignore[arg-type, operator]


def test_other_shapes_a_bad_strength_or_a_used_folder_are_refused(tmp_path: Path) -> None:
    start, other = adapter(tmp_path / "start", 1), adapter(tmp_path / "other", 2, rank=8)
    blender = MlxAdapterBlender()
    with pytest.raises(EvoTrError, match="differ in names or shapes"):
        blender.blend(start, other, 0.5, tmp_path / "x")
    with pytest.raises(EvoTrError, match=r"within 0\.\.1"):
        blender.blend(None, other, 1.5, tmp_path / "y")
    with pytest.raises(EvoTrError, match="not empty"):
        blender.blend(None, other, 0.5, start)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_the_container_picks_the_blender_with_the_trainer_backend(tmp_path: Path) -> None:
    from evotr.container import build_container
    from evotr.infrastructure.memory.adapter_blender import InMemoryAdapterBlender

    container = build_container(None, tmp_path / "home", env={})
    assert isinstance(container.models.adapter_blender(), MlxAdapterBlender)
    container.config.backends.trainer.override("memory")
    assert isinstance(container.models.adapter_blender(), InMemoryAdapterBlender)
