"""One-row decode through cblas_sgemv: the same numbers as MLX's own kernels, LoRA included."""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import mlx_lm
import pytest
from mlx_lm.generate import generate_step
from mlx_lm.sample_utils import make_sampler

from evotr.domain.adapters import AdapterVersion
from evotr.infrastructure.mlx.decode_gemv import GemvEmbedding, GemvLinear, use_gemv_decode
from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend
from evotr.infrastructure.mlx.tiny_model import build_tiny_model
from tests.adapter_fixtures import write_fake_mlx_adapter

pytestmark = pytest.mark.integration

TOL = {"atol": 1e-5, "rtol": 1e-5}
TUNED = AdapterVersion.parse("tr_chat_v1")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("gemv") / "tiny", seed=0)



def gemv_layers(model: nn.Module) -> int:
    return sum(isinstance(m, (GemvLinear, GemvEmbedding)) for _, m in model.named_modules())


def one_row_logits(model: nn.Module, token: int) -> mx.array:
    out = model(mx.array([[token]]))[0, -1]
    mx.eval(out)
    return out


def test_backend_swaps_every_fp32_linear_and_keeps_one_row_logits(tiny: Path, blas_library: str) -> None:
    backend = MlxLLMBackend(str(tiny))
    stock = mlx_lm.load(str(tiny))[0]
    plain = sum(type(m) is nn.Linear for _, m in stock.named_modules())
    assert plain > 0 and gemv_layers(backend.model) >= plain
    assert not any(type(m) is nn.Linear for _, m in backend.model.named_modules())
    for token in (1, 7, 42):
        got, want = one_row_logits(backend.model, token), one_row_logits(stock, token)
        assert mx.allclose(got, want, **TOL).item(), f"token {token}: sgemv logits differ from MLX's"
    # Prompts (several rows) still run in MLX: bit-identical to the stock model.
    prompt = mx.array([[3, 5, 8, 13]])
    assert mx.array_equal(backend.model(prompt), stock(prompt)).item()


def test_greedy_decode_matches_stock(tiny: Path, blas_library: str) -> None:
    backend = MlxLLMBackend(str(tiny))
    stock = mlx_lm.load(str(tiny))[0]
    prompt = mx.array([3, 5, 8, 13, 21])

    def greedy(model: nn.Module) -> list[int]:
        steps = generate_step(prompt, model, max_tokens=24, sampler=make_sampler(0.0))
        return [int(token) for token, _ in steps]

    assert greedy(backend.model) == greedy(stock)


def test_lora_wraps_the_sgemv_layers(tiny: Path, tmp_path: Path, blas_library: str) -> None:
    folder = write_fake_mlx_adapter(tmp_path / "a", seed=1)
    backend = MlxLLMBackend(str(tiny))
    backend.register_adapter(TUNED, folder)
    backend.activate(TUNED)
    stock = mlx_lm.load(str(tiny), adapter_path=str(folder))[0]
    base = mlx_lm.load(str(tiny))[0]
    got = one_row_logits(backend.model, 9)
    assert mx.allclose(got, one_row_logits(stock, 9), atol=1e-4, rtol=1e-4).item()
    assert not mx.allclose(got, one_row_logits(base, 9), atol=1e-4, rtol=1e-4).item()


def test_off_switch_and_conditions(tiny: Path, blas_library: str) -> None:
    model = mlx_lm.load(str(tiny))[0]
    assert use_gemv_decode(model, blas_library, True, env={"EVOTR_CPU_DECODE": "mlx"}) == 0
    assert use_gemv_decode(model, blas_library, False, env={}) == 0  # reference BLAS: no gain
    assert use_gemv_decode(model, None, True, env={}) == 0
    assert gemv_layers(model) == 0
    assert use_gemv_decode(model, blas_library, True, env={}) > 0
    assert gemv_layers(model) > 0
