"""`evotr adapters export VERSION --format peft`: PEFT's keys, transposed matrices and config, checked
against a NumPy reference of PEFT's LoRA forward and (where torch and peft are installed) PEFT itself."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx_lm
import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.numpy import load_file

from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterVersion
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.filesystem.adapter_store import FilesystemAdapterStore
from evotr.infrastructure.mlx.adapter_folder import write_adapter_folder
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from tests.adapter_fixtures import write_fake_mlx_adapter
from tests.cli_homes import memory_llm_home

pytestmark = pytest.mark.integration

ATTN, MLP = AdapterVersion.parse("tr_chat_v1"), AdapterVersion.parse("python_coder_v1")
# (in, out) of the tiny model's projections (hidden 64, two KV heads of 16, mlp 128).
_DIMS = {"q_proj": (64, 64), "v_proj": (64, 32), "gate_proj": (64, 128), "down_proj": (128, 64)}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interop_peft")


@pytest.fixture(scope="module")
def tiny(root: Path) -> Path:
    return ensure_tiny_model(root / "tiny")


def _mlp_adapter(folder: Path) -> Path:
    """Rank 2, scale 10, MLP projections of the last layer only (num_layers=1)."""
    keys = iter(mx.random.split(mx.random.key(7), 4))
    weights = {}
    for name in ("gate_proj", "down_proj"):
        n_in, n_out = _DIMS[name]
        weights[f"model.layers.1.mlp.{name}.lora_a"] = mx.random.normal((n_in, 2), key=next(keys))
        weights[f"model.layers.1.mlp.{name}.lora_b"] = 0.05 * mx.random.normal((2, n_out), key=next(keys))
    return write_adapter_folder(folder, weights, num_layers=1, rank=2, scale=10.0, model="tiny")


@pytest.fixture(scope="module")
def home(root: Path, tiny: Path) -> Path:
    """A home holding tr_chat_v1 (q/v of both layers, rank 4, scale 20) and python_coder_v1 (MLP)."""
    home = memory_llm_home(root / "home")
    store = FilesystemAdapterStore(home / "adapters")
    for version, source in ((ATTN, write_fake_mlx_adapter(root / "attn", seed=3)),
                            (MLP, _mlp_adapter(root / "mlp"))):
        store.add(version, source, AdapterManifest(version, str(tiny)))
        store.update_registry(lambda r, v=version: r.register(v))
    return home


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def exported(root: Path, home: Path) -> dict[AdapterVersion, Path]:
    outs = {}
    for version in (ATTN, MLP):
        out = root / "peft" / version.name
        code, text, err = run(home, "adapters", "export", version.name, "--format", "peft", "--out", str(out))
        assert code == 0, err
        assert text.startswith(f"wrote {out} (PEFT LoRA: r ") and "vllm serve" in text
        outs[version] = out
    return outs


def _module(model: Any, path: str) -> Any:
    found = model
    for part in path.split("."):
        found = found[int(part)] if part.isdigit() else getattr(found, part)
    return found


@pytest.mark.parametrize("version", [ATTN, MLP])
def test_numpy_peft_forward_equals_mlx_lm_lora_delta_for_every_module(
    tiny: Path, home: Path, exported: dict[AdapterVersion, Path], version: AdapterVersion
) -> None:
    out = exported[version]
    config = json.loads((out / "adapter_config.json").read_text("utf-8"))
    tensors = load_file(str(out / "adapter_model.safetensors"))
    model = mlx_lm.load(str(tiny), adapter_path=str(home / "adapters" / version.name))[0]
    modules = sorted({k.removeprefix("base_model.model.").rsplit(".lora_", 1)[0] for k in tensors})
    assert len(tensors) == 2 * len(modules) and modules
    rng = np.random.default_rng(0)
    for path in modules:
        a = tensors[f"base_model.model.{path}.lora_A.weight"]
        b = tensors[f"base_model.model.{path}.lora_B.weight"]
        n_in, n_out = _DIMS[path.rsplit(".", 1)[1]]
        assert (a.shape, b.shape) == ((config["r"], n_in), (n_out, config["r"]))
        x = rng.standard_normal((3, n_in)).astype(np.float32)
        # PEFT's lora.Linear: lora_B(lora_A(dropout(x))) * scaling, scaling = lora_alpha / r.
        reference = x @ a.T @ b.T * (config["lora_alpha"] / config["r"])
        layer = _module(model, path)
        delta = layer(mx.array(x)) - layer.linear(mx.array(x))  # mlx-lm's own LoRALinear
        np.testing.assert_allclose(np.array(delta), reference, rtol=1e-4, atol=1e-5)
        assert np.abs(reference).max() > 1e-3  # a zero update would prove nothing


def test_config_and_key_names(tiny: Path, exported: dict[AdapterVersion, Path]) -> None:
    attn = json.loads((exported[ATTN] / "adapter_config.json").read_text("utf-8"))
    assert {k: attn[k] for k in ("peft_type", "task_type", "r", "lora_alpha", "target_modules",
                                 "base_model_name_or_path", "use_dora", "use_rslora", "bias",
                                 "modules_to_save", "layers_to_transform")} == {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4, "lora_alpha": 80,
        "target_modules": ["q_proj", "v_proj"], "base_model_name_or_path": str(tiny),
        "use_dora": False, "use_rslora": False, "bias": "none", "modules_to_save": None,
        "layers_to_transform": [0, 1]}
    mlp = json.loads((exported[MLP] / "adapter_config.json").read_text("utf-8"))
    assert (mlp["r"], mlp["lora_alpha"], mlp["target_modules"], mlp["layers_to_transform"]) == (
        2, 20, ["down_proj", "gate_proj"], [1])
    keys = sorted(load_file(str(exported[ATTN] / "adapter_model.safetensors")))
    assert keys == sorted(f"base_model.model.model.layers.{i}.self_attn.{p}.lora_{m}.weight"
                          for i in (0, 1) for p in ("q_proj", "v_proj") for m in "AB")
    assert sorted(p.name for p in exported[ATTN].iterdir()) == ["adapter_config.json",
                                                                "adapter_model.safetensors"]


def test_base_model_override_and_json(root: Path, home: Path) -> None:
    out = root / "peft_json"
    code, text, err = run(home, "adapters", "export", ATTN.name, "--out", str(out), "--json",
                          "--base-model", "Qwen/Qwen2.5-3B-Instruct")
    assert code == 0, err
    assert json.loads(text) == {
        "version": ATTN.name, "format": "peft", "folder": str(out), "r": 4, "lora_alpha": 80.0,
        "target_modules": ["q_proj", "v_proj"], "tensors": 8,
        "base_model_name_or_path": "Qwen/Qwen2.5-3B-Instruct"}
    config = json.loads((out / "adapter_config.json").read_text("utf-8"))
    assert config["base_model_name_or_path"] == "Qwen/Qwen2.5-3B-Instruct"


@pytest.mark.parametrize(("case", "message"), [
    ("not_empty", r"--out .* is not empty; give a new or empty folder"),
    ("a_file", r"--out .* exists and is not a folder"),
    ("unknown", r"cannot export tr_chat_v9: no such version \(stored: python_coder_v1, tr_chat_v1\)"),
    ("bad_name", r"version"),
])
def test_refusals_are_one_line_and_write_nothing(tmp_path: Path, home: Path, case: str, message: str) -> None:
    out = tmp_path / "out"
    version = {"unknown": "tr_chat_v9", "bad_name": "../etc"}.get(case, ATTN.name)
    if case == "not_empty":
        out.mkdir()
        (out / "keep.txt").write_text("mine", "utf-8")
    elif case == "a_file":
        out.write_text("mine", "utf-8")
    code, text, err = run(home, "adapters", "export", version, "--out", str(out))
    assert code == 1 and text == "" and err.startswith("error: ") and err.count("\n") == 1, err
    assert re.search(message, err), err
    if case == "not_empty":
        assert [p.name for p in out.iterdir()] == ["keep.txt"]
    elif case == "a_file":
        assert out.read_text("utf-8") == "mine"
    else:
        assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_export_needs_an_existing_home(tmp_path: Path) -> None:
    code, _, err = run(tmp_path / "nope", "adapters", "export", ATTN.name, "--out", str(tmp_path / "o"))
    assert code == 1 and "does not exist" in err and not (tmp_path / "nope").exists()


def _missing(*modules: str) -> str | None:
    absent = [m for m in modules if importlib.util.find_spec(m) is None]
    return None if not absent else f"needs {' and '.join(absent)} (pip install torch peft); not installed"


@pytest.mark.skipif(_missing("torch", "peft", "transformers") is not None,
                    reason=_missing("torch", "peft", "transformers") or "")
@pytest.mark.parametrize("version", [ATTN, MLP])
def test_real_peft_load_gives_mlx_lm_logits(
    tiny: Path, home: Path, exported: dict[AdapterVersion, Path], version: AdapterVersion
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ids = [5, 17, 42, 99, 7, 300, 12]
    base = AutoModelForCausalLM.from_pretrained(str(tiny), dtype=torch.float32).eval()
    with torch.no_grad():
        base_logits = base(torch.tensor([ids])).logits[0].numpy()
    tuned = PeftModel.from_pretrained(base, str(exported[version])).eval()
    with torch.no_grad():
        peft_logits = tuned(torch.tensor([ids])).logits[0].numpy()
    stock_base = mlx_lm.load(str(tiny))[0]
    stock = mlx_lm.load(str(tiny), adapter_path=str(home / "adapters" / version.name))[0]
    want_base = np.array(stock_base(mx.array([ids]))[0])
    want = np.array(stock(mx.array([ids]))[0])
    # Same base model in both frameworks first, so the comparison below is about the adapter.
    np.testing.assert_allclose(base_logits, want_base, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(peft_logits, want, rtol=1e-3, atol=1e-4)
    assert np.abs(want - want_base).max() > 1e-3
