"""LoRA hot-swap on one resident tiny model: every switch must equal a fresh ``mlx_lm.load``."""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx.nn as nn
import mlx_lm
import pytest
from mlx_lm.utils import save_config, save_model

from evotr.application.errors import AdapterNotRegisteredError
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.sampling import SamplingParams
from evotr.infrastructure.mlx import base_loading
from evotr.infrastructure.mlx.adapter_folder import write_adapter_folder
from evotr.infrastructure.mlx.errors import AdapterLoadError
from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend
from evotr.infrastructure.mlx.lora_layout import WRAPPERS
from evotr.infrastructure.mlx.precision import float32_on_cpu
from evotr.infrastructure.mlx.tiny_model import build_tiny_model
from tests.adapter_fixtures import write_fake_mlx_adapter

pytestmark = pytest.mark.integration

A, B = AdapterVersion.parse("tr_chat_v1"), AdapterVersion.parse("python_code_v1")
MESSAGES = [Message(Role.SYSTEM, "Sen yardımsever bir asistansın."), Message(Role.USER, "Merhaba!")]
PROMPT = "Merhaba dünya, bugün nasılsın? Python ile bir liste sırala."
TOL = {"atol": 1e-4, "rtol": 1e-4}
# Output size of each projection of the tiny model (hidden 64, two KV heads of 16, mlp 128).
_OUT = {"q_proj": 64, "k_proj": 32, "v_proj": 32, "o_proj": 64, "gate_proj": 128, "up_proj": 128,
        "down_proj": 64}
_IN = {"down_proj": 128}
_BLOCK = {"gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}


def write_adapter(
    dir: Path, *, rank: int = 4, layers: Sequence[int] = (0, 1), keys: Sequence[str] = ("q_proj",),
    num_layers: int = 2, seed: int = 0, scale: float = 20.0,
) -> Path:
    """An mlx-lm adapter folder with non-zero lora_b for ``keys`` of ``layers``."""
    rng = iter(mx.random.split(mx.random.key(seed), 2 * len(layers) * len(keys)))
    weights = {}
    for layer in layers:
        for key in keys:
            prefix = f"model.layers.{layer}.{_BLOCK.get(key, 'self_attn')}.{key}"
            weights[f"{prefix}.lora_a"] = mx.random.normal((_IN.get(key, 64), rank), key=next(rng))
            weights[f"{prefix}.lora_b"] = 0.01 * mx.random.normal((rank, _OUT[key]), key=next(rng))
    return write_adapter_folder(dir, weights, num_layers=num_layers, rank=rank, scale=scale, model="tiny")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hot_swap")


@pytest.fixture(scope="module")
def tiny(root: Path) -> Path:
    return build_tiny_model(root / "tiny", seed=0)


@pytest.fixture(scope="module")
def folders(root: Path) -> dict[str, Path]:
    """Adapters of several layouts; the fixture ones cover q_proj+v_proj of both layers."""
    base = root / "adapters"
    return {
        "a": write_fake_mlx_adapter(base / "a", seed=1),
        "b": write_fake_mlx_adapter(base / "b", seed=2),
        "rank8": write_fake_mlx_adapter(base / "rank8", rank=8, seed=3),
        "q_last": write_adapter(base / "q_last", layers=(1,), num_layers=1, seed=4, scale=10.0),
        "mlp": write_adapter(base / "mlp", keys=("gate_proj", "down_proj"), rank=2, seed=5),
    }


@pytest.fixture(scope="module")
def ids(tiny: Path) -> list[int]:
    return [int(i) for i in MlxLLMBackend(str(tiny)).tokenizer.encode(PROMPT)]


_FRESH: dict[tuple[str, str | None], Any] = {}


def fresh_logits(tiny: Path, ids: list[int], adapter: Path | None = None) -> Any:
    """Last-position logits of a fresh stock ``mlx_lm.load`` (cached per model and adapter)."""
    key = (str(tiny), None if adapter is None else str(adapter))
    if key not in _FRESH:
        model = mlx_lm.load(str(tiny), adapter_path=key[1])[0]
        _FRESH[key] = model(mx.array([ids]))[0, -1]
        mx.eval(_FRESH[key])
    return _FRESH[key]


def logits(backend: MlxLLMBackend, ids: list[int], version: AdapterVersion | None) -> Any:
    backend.activate(version)
    out = backend.model(mx.array([ids]))[0, -1]
    mx.eval(out)
    return out


def assert_matches(backend: MlxLLMBackend, tiny: Path, ids: list[int],
                   version: AdapterVersion | None, folder: Path | None) -> None:
    got, want = logits(backend, ids, version), fresh_logits(tiny, ids, folder)
    if folder is None:
        assert mx.array_equal(got, want).item(), "base model output must be bit-identical"
    else:
        assert mx.allclose(got, want, **TOL).item(), f"{version} differs from a fresh load"


def test_switching_equals_fresh_loads(tiny: Path, folders: dict[str, Path], ids: list[int]) -> None:
    backend = MlxLLMBackend(str(tiny))
    backend.register_adapter(A, folders["a"])
    backend.register_adapter(B, folders["b"])
    assert list(backend.registered_adapters()) == [A, B]
    base = fresh_logits(tiny, ids)
    assert not mx.allclose(fresh_logits(tiny, ids, folders["a"]), base, **TOL).item()
    for version in (A, B, None, A, A, None, B):
        assert_matches(backend, tiny, ids, version, {A: folders["a"], B: folders["b"]}.get(version))
        assert backend.active_adapter == version


def test_other_layouts_switch_without_touching_earlier_adapters(
    tiny: Path, folders: dict[str, Path], ids: list[int]
) -> None:
    backend = MlxLLMBackend(str(tiny))
    versions = {AdapterVersion.parse(f"{name.replace('8', '_eight')}_v1"): folders[name]
                for name in ("a", "q_last", "rank8", "mlp")}
    wrappers: dict[AdapterVersion, dict[str, Any]] = {}
    for version, folder in versions.items():
        backend.register_adapter(version, folder)
        backend.activate(version)
        wrappers[version] = {p: m for p, m in backend.model.named_modules() if isinstance(m, WRAPPERS)}
        backend.activate(None)
    # Each adapter has its own wrappers, sized to its own rank: a later adapter with new
    # modules (mlp) or a larger rank (rank8) re-pads and rebuilds nothing of the earlier ones.
    for version in versions:
        backend.activate(version)
        now = {p: m for p, m in backend.model.named_modules() if isinstance(m, WRAPPERS)}
        assert now.keys() == wrappers[version].keys()
        assert all(now[p] is m for p, m in wrappers[version].items())
    assert {m.lora_a.shape[1] for m in wrappers[AdapterVersion.parse("a_v1")].values()} == {4}
    assert backend._swapper().layout["model.layers.0.self_attn.q_proj"] == 8
    assert backend._swapper().layout["model.layers.0.mlp.gate_proj"] == 2
    order = [*versions, None, *reversed(list(versions)), None]
    for version in order:
        assert_matches(backend, tiny, ids, version, versions.get(version) if version else None)
    # q_last's scale (10) and num_layers=1 are honoured: it is not A.
    q_last = AdapterVersion.parse("q_last_v1")
    assert not mx.allclose(logits(backend, ids, q_last), fresh_logits(tiny, ids, folders["a"])).item()


def test_one_load_and_no_nesting(
    tiny: Path, folders: dict[str, Path], ids: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real_load = base_loading.load_base

    def counting_load(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(base_loading, "load_base", counting_load)
    backend = MlxLLMBackend(str(tiny))
    names = ["a", "b", "rank8", "q_last", "mlp"]
    versions = [AdapterVersion.parse(f"v{i}_v1") for i in range(len(names))]
    for i, (version, name) in enumerate(zip(versions, names, strict=True)):
        backend.register_adapter(version, folders[name])
        for j in range(40):
            backend.activate([None, *versions[: i + 1]][j % (i + 2)])
    backend.register_adapter(versions[0], folders["a"])  # registering again replaces, no reload
    assert len(calls) == 1
    assert list(backend.registered_adapters()) == versions
    paths = [name for name, _ in backend.model.named_modules()]
    assert not any(".linear.linear" in p or ".embedding.embedding" in p for p in paths)
    wrappers = [m for _, m in backend.model.named_modules() if isinstance(m, WRAPPERS)]
    assert wrappers and all(not isinstance(w.linear, WRAPPERS) for w in wrappers)
    assert_matches(backend, tiny, ids, versions[4], folders["mlp"])
    assert_matches(backend, tiny, ids, None, None)


def test_unregistered_adapter_is_named(tiny: Path, folders: dict[str, Path]) -> None:
    backend = MlxLLMBackend(str(tiny))
    backend.register_adapter(A, folders["a"])
    with pytest.raises(AdapterNotRegisteredError, match="python_code_v1") as info:
        backend.activate(B)
    assert info.value.version == B and "tr_chat_v1" in str(info.value)
    with pytest.raises(AdapterNotRegisteredError, match="python_code_v1"):
        backend.stream(MESSAGES, SamplingParams(max_tokens=3), B)
    assert backend.active_adapter is None


def test_broken_adapters_are_refused_and_change_nothing(
    tiny: Path, folders: dict[str, Path], ids: list[int], root: Path
) -> None:
    backend = MlxLLMBackend(str(tiny))
    backend.register_adapter(A, folders["a"])
    backend.activate(A)
    before = logits(backend, ids, A)
    layout = backend._swapper().layout
    broken = root / "broken"
    missing = write_fake_mlx_adapter(broken / "missing")
    (missing / "adapters.safetensors").unlink()
    dora = write_fake_mlx_adapter(broken / "dora")
    config = json.loads((dora / "adapter_config.json").read_text("utf-8"))
    (dora / "adapter_config.json").write_text(json.dumps({**config, "fine_tune_type": "dora"}))
    cases = {
        # lora_a of (48, r) cannot multiply the model's 64-wide activations.
        write_fake_mlx_adapter(broken / "shape", hidden_size=48): "shape",
        # Layer 0 is outside the last num_layers=1 block stock mlx-lm would wrap.
        write_fake_mlx_adapter(broken / "outside", num_layers=1, model_layers=1): "not a LoRA target",
        write_adapter(broken / "bogus", keys=("q_proj",), layers=(5,)): "no such module",
        missing: "missing adapters.safetensors",
        dora: "dora",
        broken / "nowhere": "not a directory",
    }
    for folder, reason in cases.items():
        with pytest.raises(AdapterLoadError, match=reason) as info:
            backend.register_adapter(B, folder)
        assert "python_code_v1" in str(info.value) and str(folder) in str(info.value)
        assert info.value.version == B and info.value.path == folder
    assert list(backend.registered_adapters()) == [A]
    assert backend.active_adapter == A and backend._swapper().layout == layout
    assert mx.array_equal(backend.model(mx.array([ids]))[0, -1], before).item()


def _greedy_reference(tiny: Path, adapter: Path | None, prompt: list[int], n: int) -> str:
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_sampler

    model, tokenizer = mlx_lm.load(str(tiny), adapter_path=None if adapter is None else str(adapter))
    pieces = stream_generate(model, tokenizer, prompt, max_tokens=n, sampler=make_sampler(temp=0.0))
    return "".join(r.text for r in pieces)


def test_stream_equals_fresh_greedy_generation(tiny: Path, folders: dict[str, Path]) -> None:
    backend = MlxLLMBackend(str(tiny))
    backend.register_adapter(A, folders["a"])
    backend.register_adapter(B, folders["b"])
    params = SamplingParams(temperature=0.0, max_tokens=8)
    prompt = backend._prompt_ids(MESSAGES)
    want = {v: _greedy_reference(tiny, f, prompt, 8)
            for v, f in ((A, folders["a"]), (B, folders["b"]), (None, None))}
    assert want[A] != want[None]
    for version in (A, None, B, A):
        assert backend.generate(MESSAGES, params, version) == want[version]
    # Two generators interleaved in one thread each keep their own adapter.
    first, second = backend.stream(MESSAGES, params, A), backend.stream(MESSAGES, params, B)
    got: dict[AdapterVersion, list[str]] = {A: [], B: []}
    for piece_a, piece_b in itertools.zip_longest(first, second, fillvalue=""):
        got[A].append(piece_a)
        got[B].append(piece_b)
    assert "".join(got[A]) == want[A] and "".join(got[B]) == want[B]
    # And so do threads.
    results: dict[AdapterVersion | None, str] = {}

    def run(version: AdapterVersion | None) -> None:
        results[version] = backend.generate(MESSAGES, params, version)

    threads = [threading.Thread(target=run, args=(v,)) for v in (A, B, None)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == want


@pytest.mark.slow
def test_adapter_trained_by_stock_mlx_lm(tiny: Path, root: Path, ids: list[int]) -> None:
    data = root / "data"
    data.mkdir()
    rows = [{"messages": [{"role": "user", "content": f"Soru {i}: {w} nedir?"},
                          {"role": "assistant", "content": f"{w} güzel bir kelimedir. " * 3}]}
            for i, w in enumerate(["elma", "armut", "kiraz", "ayva", "erik", "incir", "nar", "üzüm"])]
    for split in ("train", "valid"):
        (data / f"{split}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                     for r in rows), "utf-8")
    out = root / "stock_adapter"
    command = [sys.executable, "-m", "mlx_lm", "lora", "--model", str(tiny), "--train",
               "--data", str(data), "--iters", "3", "--batch-size", "1", "--num-layers", "2",
               "--adapter-path", str(out), "--learning-rate", "1e-2", "--val-batches", "1",
               "--steps-per-eval", "100", "--save-every", "100"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    backend = MlxLLMBackend(str(tiny))
    backend.register_adapter(A, out)
    assert not mx.allclose(fresh_logits(tiny, ids, out), fresh_logits(tiny, ids), **TOL).item()
    for version in (A, None, A):
        assert_matches(backend, tiny, ids, version, out if version else None)


def _quantized_bf16_copy(tiny: Path, out: Path) -> Path:
    model = mlx_lm.load(str(tiny))[0]
    model.set_dtype(mx.bfloat16)
    nn.quantize(model, group_size=32, bits=4)
    out.mkdir()
    for file in tiny.iterdir():
        if file.suffix == ".json" and file.name != "config.json":
            shutil.copy(file, out / file.name)
    config = json.loads((tiny / "config.json").read_text("utf-8"))
    config.update(quantization={"group_size": 32, "bits": 4}, torch_dtype="bfloat16")
    save_model(out, model)
    save_config(config, config_path=out / "config.json")
    return out


def test_cpu_runs_a_bf16_quantized_model_in_float32(
    tiny: Path, root: Path, folders: dict[str, Path], ids: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    from mlx.utils import tree_flatten

    quantized = _quantized_bf16_copy(tiny, root / "q4")
    stock = mlx_lm.load(str(quantized))[0]
    dtypes = {v.dtype for _, v in tree_flatten(stock.parameters())}
    assert mx.bfloat16 in dtypes and mx.uint32 in dtypes
    # Off the CPU nothing changes: half precision is the GPU's fast path.
    assert float32_on_cpu(stock, device=mx.Device(mx.DeviceType.gpu)) == 0
    assert {v.dtype for _, v in tree_flatten(stock.parameters())} == dtypes

    backend = MlxLLMBackend(str(quantized))
    with caplog.at_level(logging.INFO, logger="evotr.mlx"):
        backend.load()
    assert "float32" in caplog.text
    params = dict(tree_flatten(backend.model.parameters()))
    assert {v.dtype for v in params.values()} == {mx.float32, mx.uint32}
    assert any(name.endswith("scales") for name in params)
    backend.register_adapter(A, folders["a"])
    got = logits(backend, ids, A)
    assert got.dtype == mx.float32
    # Reference: a stock load with the adapter, cast by the same rule.
    reference = mlx_lm.load(str(quantized), adapter_path=str(folders["a"]))[0]
    float32_on_cpu(reference)
    want = reference(mx.array([ids]))[0, -1]
    assert mx.allclose(got, want, **TOL).item()
    assert not mx.allclose(logits(backend, ids, None), want, **TOL).item()
