"""Issue 14: no adapter is the plain model (no LoRA code runs); an adapter equals stock mlx-lm.

"Plain" is a stock ``mlx_lm.load`` prepared the way the backend prepares its model at load
(``float32_on_cpu``, and one-row products as sgemv where the CPU has an optimised BLAS), with
no LoRA layers. With no adapter active the backend's model must BE that model: the very same
module objects, and logits bit for bit. With an adapter active, logits must match a stock
``mlx_lm.load(base, adapter_path=...)`` within ``TOL`` (fp32 on the CPU; the fast wrappers
fold the scale into a GEMM and may share one low-rank product between q/k/v, so sums run in
another order), for prompts (MLX) and for one-row decode steps (sgemv).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx_lm
import numpy as np
import pytest
from mlx.utils import tree_flatten

from evotr.domain.adapters import AdapterVersion
from evotr.infrastructure.mlx.adapter_folder import read_adapter_folder, write_adapter_folder
from evotr.infrastructure.mlx.blas import prepare_blas
from evotr.infrastructure.mlx.decode_gemv import use_gemv_decode
from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend
from evotr.infrastructure.mlx.lora_layout import WRAPPERS
from evotr.infrastructure.mlx.lora_modules import (
    SHARED_INPUT,
    SHARED_INPUT_ATTENTION,
    LowRankLinear,
    SharedLowRank,
)
from evotr.infrastructure.mlx.lora_swap import LoraSwap
from evotr.infrastructure.mlx.precision import float32_on_cpu
from evotr.infrastructure.mlx.tiny_model import build_tiny_model
from tests.adapter_fixtures import write_fake_mlx_adapter
from tests.integration.test_mlx_hot_swap import write_adapter

pytestmark = pytest.mark.integration

TOL = {"atol": 1e-4, "rtol": 1e-4}
PROMPT = [3, 17, 42, 99, 7, 250, 13]
ONE_ROW = 9
ALL_KEYS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("off_on") / "tiny", seed=0)


@pytest.fixture(scope="module")
def folders(tiny: Path) -> dict[str, Path]:
    base = tiny.parent / "adapters"
    return {
        "qv": write_fake_mlx_adapter(base / "qv", seed=1),
        "rank8": write_fake_mlx_adapter(base / "rank8", rank=8, seed=3),
        "q_last": write_adapter(base / "q_last", layers=(1,), num_layers=1, seed=4, scale=10.0),
        "mlp": write_adapter(base / "mlp", keys=("gate_proj", "down_proj"), rank=2, seed=5),
        "all": write_adapter(base / "all", keys=ALL_KEYS, rank=4, seed=6, scale=8.0),
    }


def version(name: str) -> AdapterVersion:
    return AdapterVersion.parse(f"{name.replace('8', '_eight')}_v1")


def plain_model(tiny: Path, adapter: Path | None = None) -> Any:
    """A stock load, prepared like the backend's model, with no LoRA layers unless ``adapter``."""
    model = mlx_lm.load(str(tiny), adapter_path=None if adapter is None else str(adapter))[0]
    float32_on_cpu(model)
    blas = prepare_blas()
    use_gemv_decode(model, blas.path, blas.optimised)
    return model


def outputs(model: Any) -> tuple[Any, Any]:
    """Last-position logits of a prompt (MLX) and of one token alone (a decode-sized row)."""
    prompt = model(mx.array([PROMPT]))[0, -1]
    row = model(mx.array([[ONE_ROW]]))[0, -1]
    mx.eval(prompt, row)
    return prompt, row


def lora_parts(model: Any) -> list[str]:
    """Paths of LoRA wrappers and names of LoRA parameters anywhere in ``model``."""
    wrappers = [name for name, module in model.named_modules() if isinstance(module, WRAPPERS)]
    params = [name for name, _ in tree_flatten(model.parameters()) if ".lora_" in name]
    return wrappers + params


def test_no_adapter_is_the_plain_model_bit_for_bit(tiny: Path, folders: dict[str, Path]) -> None:
    backend = MlxLLMBackend(str(tiny))
    before = dict(backend.model.named_modules())
    for name, folder in folders.items():
        backend.register_adapter(version(name), folder)
    plain = plain_model(tiny)
    want = outputs(plain)
    for name in [*folders, "qv", "all"]:
        backend.activate(version(name))
        assert lora_parts(backend.model), name  # the adapter is really in
        backend.activate(None)
        now = dict(backend.model.named_modules())
        assert lora_parts(backend.model) == []
        assert now.keys() == before.keys()
        assert all(now[path] is module for path, module in before.items()), "not the original modules"
        assert [type(m) for m in now.values()] == [type(m) for m in dict(plain.named_modules()).values()]
        got = outputs(backend.model)
        assert all(mx.array_equal(g, w).item() for g, w in zip(got, want, strict=True)), name


def test_every_adapter_round_trips_none_adapter_none_equal_to_stock(
    tiny: Path, folders: dict[str, Path]
) -> None:
    backend = MlxLLMBackend(str(tiny))
    for name, folder in folders.items():
        backend.register_adapter(version(name), folder)
    plain = outputs(plain_model(tiny))
    for name, folder in folders.items():
        stock = outputs(plain_model(tiny, folder))
        assert not mx.allclose(stock[0], plain[0], **TOL).item(), f"{name} changes nothing"
        for active in (None, version(name), None, version(name)):
            backend.activate(active)
            got = outputs(backend.model)
            for g, p, s in zip(got, plain, stock, strict=True):
                if active is None:
                    assert mx.array_equal(g, p).item(), f"none after {name} is not plain"
                else:
                    assert mx.allclose(g, s, **TOL).item(), f"{name}: {mx.abs(g - s).max().item()}"


def test_wrappers_are_prebuilt_around_the_original_modules(tiny: Path, folders: dict[str, Path]) -> None:
    backend = MlxLLMBackend(str(tiny))
    for name in ("qv", "all"):
        backend.register_adapter(version(name), folders[name])
    swap = backend._swapper()
    originals = swap.originals()
    seen: dict[str, Any] = {}
    for active in ("qv", "all", "qv", "all"):
        backend.activate(version(active))
        modules = dict(backend.model.named_modules())
        for path, original in originals.items():
            module = modules[path]
            if isinstance(module, WRAPPERS):
                # decode_gemv swapped the original before wrapping: the wrapper holds that object.
                assert module.linear is original
                key = f"{active}:{path}"
                assert seen.setdefault(key, module) is module, "a switch rebuilt a wrapper"
            else:
                assert module is original
    # q/k/v of one block read one stacked low-rank product; lora_a/lora_b are views of it.
    attn = backend.model.model.layers[0].self_attn
    q, k, v = attn.q_proj, attn.k_proj, attn.v_proj
    assert isinstance(q, LowRankLinear) and q._shared is k._shared is v._shared is not None
    stacked = np.array(q._shared.a)
    columns = [np.array(m.lora_a) for m in sorted((q, k, v), key=lambda m: m._member)]
    assert np.array_equal(stacked, np.concatenate(columns, axis=1))
    mlp = backend.model.model.layers[0].mlp
    assert mlp.gate_proj._shared is mlp.up_proj._shared  # gate/up share theirs
    assert len({id(m._shared) for m in (q, attn.o_proj, mlp.gate_proj, mlp.down_proj)}) == 4


def test_a_shared_product_is_reused_once_per_member_and_only_for_the_same_input() -> None:
    group = SharedLowRank(mx.random.normal((16, 12)), mx.random.normal((24, 12)), [8, 8, 8], True)
    x, other = mx.random.normal((1, 1, 16)), mx.random.normal((1, 1, 16))
    first = group.terms(0, x)
    assert group.terms(1, x) is first and group.terms(2, x) is first
    assert group.terms(1, x) is not first  # every member had it: a new pass computes afresh
    fresh = group.terms(0, x)
    assert group.terms(1, other) is not fresh  # another input is never served a stale product
    assert mx.allclose(group.terms(2, other), other @ group.a).item()


@pytest.mark.parametrize("fused", [True, False], ids=["addmm", "add"])
def test_members_called_with_different_inputs_still_compute_their_own_sum(fused: bool) -> None:
    import mlx.nn as nn

    from evotr.infrastructure.mlx.lora_modules import build_wrappers

    bases = {f"block.{name}": nn.Linear(16, n) for name, n in (("q_proj", 16), ("k_proj", 8),
                                                                ("v_proj", 8))}
    arrays = {path: (mx.random.normal((16, 4)), mx.random.normal((4, base.weight.shape[0])))
              for path, base in bases.items()}
    wrappers = build_wrappers(bases, arrays, 2.0, 4, SHARED_INPUT_ATTENTION, fused_add=fused)
    assert len({id(w._shared) for w in wrappers.values()}) == 1
    q, k, v = (f"block.{name}" for name in ("q_proj", "k_proj", "v_proj"))
    xs = [mx.random.normal((2, 3, 16)) for _ in range(2)]
    # (path, input) calls: shared, one member on another input, a member repeated.
    for calls in ([(q, 0), (k, 0), (v, 0)], [(q, 0), (k, 1), (v, 0)], [(v, 0), (v, 0), (q, 1), (k, 0)]):
        for path, which in calls:
            x, (a, b) = xs[which], arrays[path]
            want = bases[path](x) + 2.0 * ((x @ a) @ b)
            assert mx.allclose(wrappers[path](x), want, atol=1e-4, rtol=1e-4).item(), (calls, path)
        # The LoRALinear view of each wrapper is the same maths (scale folded into lora_b).
        w = wrappers[q]
        assert mx.allclose(w.scale * (w.lora_a @ w.lora_b), 2.0 * (arrays[q][0] @ arrays[q][1]),
                           atol=1e-4, rtol=1e-4).item()


@pytest.mark.parametrize("fused", [True, False], ids=["addmm", "add"])
@pytest.mark.parametrize("shared_input", [SHARED_INPUT, SHARED_INPUT_ATTENTION, ()],
                         ids=["attention+mlp", "attention", "none"])
def test_every_grouping_equals_stock(tiny: Path, folders: dict[str, Path],
                                     shared_input: tuple[tuple[str, ...], ...], fused: bool) -> None:
    model = plain_model(tiny)
    swap = LoraSwap(model, mx.float32, shared_input, fused_add=fused)
    swap.add(read_adapter_folder(version("all"), folders["all"]))
    swap.activate(version("all"))
    got, want = outputs(model), outputs(plain_model(tiny, folders["all"]))
    for g, w in zip(got, want, strict=True):
        assert mx.allclose(g, w, **TOL).item()


def test_the_cpu_row_decoder_reads_the_fast_wrappers(tmp_path: Path) -> None:
    from evotr.infrastructure.mlx.row_decoder import RowDecoder
    from tests.integration.test_row_decoder import ATOL, decode_both, tiny_gemma

    blas = prepare_blas()
    if not (blas.optimised and blas.path):
        pytest.skip(f"the row decoder needs an optimised BLAS; this run has {blas.describe()}")
    model = tiny_gemma(seed=4)
    dims = {"q_proj": (64, 64), "k_proj": (64, 16), "v_proj": (64, 16), "o_proj": (64, 64),
            "gate_proj": (64, 128), "up_proj": (64, 128), "down_proj": (128, 64)}
    keys = iter(mx.random.split(mx.random.key(7), 2 * 3 * len(dims)))
    weights = {}
    for layer in range(3):
        for name, (n_in, n_out) in dims.items():
            block = "mlp" if name in ("gate_proj", "up_proj", "down_proj") else "self_attn"
            prefix = f"model.layers.{layer}.{block}.{name}"
            weights[f"{prefix}.lora_a"] = mx.random.normal((n_in, 4), key=next(keys)) * 0.3
            weights[f"{prefix}.lora_b"] = mx.random.normal((4, n_out), key=next(keys)) * 0.2
    folder = write_adapter_folder(tmp_path / "gemma_all", weights, num_layers=3, rank=4, scale=2.0)
    swap = LoraSwap(model, mx.float32, SHARED_INPUT)
    swap.add(read_adapter_folder(version("all"), folder))
    # (the CPU default is addmm; the row decoder reads lora_a/lora_b, which both modes expose)
    swap.activate(version("all"))
    assert isinstance(model.model.layers[0].self_attn.k_proj, LowRankLinear)
    assert max(decode_both(model, RowDecoder(model, blas.path))) < ATOL
    swap.activate(None)
    assert lora_parts(model) == []
