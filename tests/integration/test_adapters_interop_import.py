"""`evotr adapters import`: a stock `python -m mlx_lm lora` adapter becomes a served version; folders
that do not fit the base model are refused with one line; evotr's own adapters load in stock mlx-lm."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx_lm
import pytest
from click.testing import CliRunner

from evotr.domain.adapters import AdapterVersion
from evotr.domain.training import TrainingJob
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.filesystem.adapter_store import FilesystemAdapterStore
from evotr.infrastructure.mlx.adapter_folder import write_adapter_folder
from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend
from evotr.infrastructure.mlx.tiny_datasets import write_tiny_chat_dataset
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from evotr.infrastructure.mlx.trainer import MlxLoraTrainer
from tests.adapter_fixtures import fake_adapter_weights, write_fake_mlx_adapter

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOL = {"atol": 1e-4, "rtol": 1e-4}
PROMPT = "Merhaba dünya, bugün nasılsın?"
V1, V2, V3 = (AdapterVersion.parse(f"tr_chat_v{n}") for n in (1, 2, 3))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interop_import")


@pytest.fixture(scope="module")
def tiny(root: Path) -> Path:
    return ensure_tiny_model(root / "tiny")


@pytest.fixture(scope="module")
def stock(root: Path, tiny: Path) -> Path:
    """An adapter trained for a few iterations by stock `python -m mlx_lm lora`, checkpoints and all."""
    data = write_tiny_chat_dataset(root / "data", "tr_chat")
    out = root / "stock_adapter"
    command = [sys.executable, "-m", "mlx_lm", "lora", "--model", str(tiny), "--train", "--data",
               str(data), "--iters", "4", "--batch-size", "1", "--num-layers", "2", "--adapter-path",
               str(out), "--learning-rate", "1e-2", "--val-batches", "1", "--steps-per-eval", "100",
               "--save-every", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "0000002_adapters.safetensors").is_file()  # a checkpoint, which is not imported
    return out


def run(home: Path, tiny: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), "--model", str(tiny), *args])
    return result.exit_code, result.stdout, result.stderr


def last_logits(model: Any, ids: list[int]) -> Any:
    out = model(mx.array([ids]))[0, -1]
    mx.eval(out)
    return out


def test_stock_adapter_is_imported_listed_served_and_equals_stock_load(
    tmp_path: Path, tiny: Path, stock: Path
) -> None:
    home = tmp_path / "home"
    code, out, err = run(home, tiny, "adapters", "import", str(stock), "--family", "tr_chat")
    assert code == 0, err
    assert f"as {V1}" in out and f"{V1} is now the active version of tr_chat" in out
    folder = home / "adapters" / V1.name
    # mlx-lm's two files byte for byte, evotr's manifest beside them, no checkpoint.
    assert sorted(p.name for p in folder.iterdir()) == ["adapter_config.json", "adapters.safetensors",
                                                       "manifest.json"]
    for name in ("adapter_config.json", "adapters.safetensors"):
        assert (folder / name).read_bytes() == (stock / name).read_bytes()
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["origin"] == {"kind": "imported", "format": "mlx-lm lora", "source": str(stock)}
    assert manifest["base_model"] == str(tiny) and manifest["metrics"]["rank"] == 8.0
    stored = FilesystemAdapterStore(home / "adapters").manifest(V1)
    assert stored is not None and stored.origin["kind"] == "imported"

    code, out, _ = run(home, tiny, "adapters", "list", "--json")
    (family,) = [f for f in json.loads(out) if f["family"] == "tr_chat"]
    assert (family["active"], family["versions"], family["problems"]) == (V1.name, [V1.name], [])

    code, out, err = run(home, tiny, "ask", "--json", "--adapter", "tr_chat", "Merhaba")
    assert code == 0, err
    assert json.loads(out)["adapter"] == V1.name

    # What evotr serves from the stored copy equals stock mlx-lm loading the original folder.
    backend = MlxLLMBackend(str(tiny))
    backend.register_adapter(V1, folder)
    ids = [int(i) for i in backend.tokenizer.encode(PROMPT)]
    backend.activate(V1)
    served = last_logits(backend.model, ids)
    stock_model = mlx_lm.load(str(tiny), adapter_path=str(stock))[0]
    assert mx.allclose(served, last_logits(stock_model, ids), **TOL).item()
    assert not mx.allclose(served, last_logits(mlx_lm.load(str(tiny))[0], ids), **TOL).item()


def test_later_imports_are_promoted_only_when_asked(tmp_path: Path, tiny: Path, stock: Path) -> None:
    home = tmp_path / "home"
    for args in ([], [], ["--promote"]):
        code, _, err = run(home, tiny, "adapters", "import", str(stock), "--family", "tr_chat", *args)
        assert code == 0, err
    registry = FilesystemAdapterStore(home / "adapters").load_registry()
    state = registry.state(V1.family)
    assert (state.versions, registry.active(V1.family)) == ((1, 2, 3), V3)
    code, out, _ = run(home, tiny, "adapters", "import", str(stock), "--family", "tr_chat", "--json")
    assert json.loads(out) | {"modules": []} == {
        "version": "tr_chat_v4", "folder": str(home / "adapters" / "tr_chat_v4"), "promoted": False,
        "rank": 8, "scale": 20.0, "num_layers": 2, "modules": [], "source": str(stock)}


def _bad_folder(kind: str, where: Path) -> Path:
    if kind == "other_shapes":  # an adapter of a wider model (hidden size 32 ≠ 64)
        return write_fake_mlx_adapter(where, hidden_size=32, kv_size=16)
    if kind == "other_layers":  # a three-layer model's adapter; the tiny model has two
        return write_fake_mlx_adapter(where, num_layers=3, model_layers=3)
    if kind in ("dora", "full"):
        return write_adapter_folder(where, fake_adapter_weights(), num_layers=2, rank=4,
                                    fine_tune_type=kind)
    folder = write_fake_mlx_adapter(where)
    if kind == "no_weights":
        (folder / "adapters.safetensors").unlink()
    elif kind == "not_lora":
        weights = {k.replace("lora_a", "m"): v for k, v in fake_adapter_weights().items()}
        mx.save_safetensors(str(folder / "adapters.safetensors"), weights)
    elif kind == "no_folder":
        return where / "nope"
    return folder


@pytest.mark.parametrize(("kind", "message"), [
    ("other_shapes", r"does not fit the base model .*shape \(32, 4\), the model needs \(64, 4\)"),
    ("other_layers", r"does not fit .*model\.layers\.2\.self_attn\.q_proj: no such module"),
    ("dora", r"DoRA adapter \(fine_tune_type 'dora'\)"),
    ("full", r"full fine-tune \(fine_tune_type 'full'\)"),
    ("no_weights", r"missing adapters\.safetensors"),
    ("not_lora", r"not a LoRA weight"),
    ("no_folder", r"no such folder"),
])
def test_unusable_folders_are_refused_with_one_line(
    tmp_path: Path, tiny: Path, kind: str, message: str
) -> None:
    home = tmp_path / "home"
    source = _bad_folder(kind, tmp_path / "src")
    code, out, err = run(home, tiny, "adapters", "import", str(source), "--family", "tr_chat")
    assert code == 1 and out == ""
    assert err.startswith(f"error: cannot import {source}: ") and err.count("\n") == 1, err
    assert re.search(message, err), err
    store = FilesystemAdapterStore(home / "adapters")
    assert store.versions() == [] and store.load_registry().families == {}


def test_unknown_family_is_refused(tmp_path: Path, tiny: Path) -> None:
    source = write_fake_mlx_adapter(tmp_path / "src")
    code, _, err = run(tmp_path / "home", tiny, "adapters", "import", str(source), "--family", "tr_chta")
    assert code == 1 and "unknown family 'tr_chta'" in err and err.count("\n") == 1


def test_evotr_trained_adapter_loads_in_stock_mlx_lm_with_the_same_logits(
    root: Path, tiny: Path
) -> None:
    """What `evotr train` writes (MlxLoraTrainer) is a stock mlx-lm folder: `mlx_lm.load(...,
    adapter_path=...)` computes exactly what evotr serves from it."""
    data = write_tiny_chat_dataset(root / "evotr_data", "tr_chat")
    out = root / "evotr_trained"
    job = TrainingJob(version=V1, base_model=str(tiny), dataset=str(data), iterations=3, rank=4,
                      num_layers=2, batch_size=2, learning_rate=1e-2, max_seq_length=256)
    MlxLoraTrainer(seed=0).train(job, out)
    backend = MlxLLMBackend(str(tiny))
    backend.register_adapter(V1, out)
    ids = [int(i) for i in backend.tokenizer.encode(PROMPT)]
    backend.activate(V1)
    served = last_logits(backend.model, ids)
    stock_model = mlx_lm.load(str(tiny), adapter_path=str(out))[0]
    assert mx.allclose(served, last_logits(stock_model, ids), **TOL).item()
    assert not mx.allclose(served, last_logits(mlx_lm.load(str(tiny))[0], ids), **TOL).item()
