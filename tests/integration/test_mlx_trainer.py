"""MlxLoraTrainer trains a real LoRA adapter on the tiny model, the way ``mlx_lm lora`` does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evotr.domain.adapters import AdapterVersion
from evotr.domain.training import TrainingJob, TrainingMetrics
from evotr.infrastructure.mlx.errors import TrainingError
from evotr.infrastructure.mlx.tiny_datasets import write_tiny_chat_dataset
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from evotr.infrastructure.mlx.trainer import MlxLoraTrainer
from evotr.ports.trainer import Trainer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ITERS = 20
LR = 1e-3


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlx_trainer")


@pytest.fixture(scope="module")
def tiny(root: Path) -> Path:
    return ensure_tiny_model(root / "tiny")


@pytest.fixture(scope="module")
def dataset(root: Path) -> Path:
    return write_tiny_chat_dataset(root / "data", "tr_chat")


def make_job(tiny: Path, dataset: Path, **changes: Any) -> TrainingJob:
    values: dict[str, Any] = dict(version=AdapterVersion.parse("tr_chat_v1"), base_model=str(tiny),
                                  dataset=str(dataset), iterations=ITERS, rank=8, num_layers=2,
                                  batch_size=2, learning_rate=LR, max_seq_length=512)
    values.update(changes)
    return TrainingJob(**values)


@pytest.fixture(scope="module")
def trained(root: Path, tiny: Path, dataset: Path) -> tuple[Path, TrainingMetrics, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    out = root / "adapters" / "tr_chat_v1"
    metrics = MlxLoraTrainer(seed=0, progress=events.append).train(make_job(tiny, dataset), out)
    return out, metrics, events


@pytest.fixture(scope="module")
def stock_cli_run(root: Path, tiny: Path, dataset: Path) -> Path:
    """Stock ``mlx_lm lora`` on the same training data; without valid.jsonl it skips validation,
    so its numpy draws (batch order) match ours, which validate outside mlx-lm's loop."""
    data = root / "train_only"
    data.mkdir()
    shutil.copy(dataset / "train.jsonl", data / "train.jsonl")
    out = root / "stock_cli"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    # Bit-identical weights need the same BLAS on both sides: stock mlx_lm does not load OpenBLAS
    # itself, so preload whichever library this process's MLX is bound to.
    import mlx.core  # noqa: F401  (binds libmlx's BLAS symbols)

    from evotr.infrastructure.mlx.blas import mlx_binding

    bound = mlx_binding()
    if bound is not None:
        env["LD_PRELOAD"] = bound
    subprocess.run(
        [sys.executable, "-m", "mlx_lm", "lora", "--model", str(tiny), "--train", "--data", str(data),
         "--iters", str(ITERS), "--batch-size", "2", "--num-layers", "2", "--learning-rate", str(LR),
         "--max-seq-length", "512", "--save-every", "1000", "--adapter-path", str(out)],
        check=True, capture_output=True, env=env, timeout=120,
    )
    return out


def test_is_a_trainer() -> None:
    assert isinstance(MlxLoraTrainer(), Trainer)


def test_writes_adapter_and_learns(trained: tuple[Path, TrainingMetrics, list[dict[str, Any]]]) -> None:
    out, metrics, events = trained
    names = sorted(p.name for p in out.iterdir())
    assert names == ["adapter_config.json", "adapters.safetensors", "loss.png"]
    assert (out / "loss.png").read_bytes().startswith(b"\x89PNG\r\n")
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "staging folder left"
    assert metrics.start_val_loss is not None and metrics.final_val_loss is not None
    assert metrics.final_val_loss < metrics.start_val_loss - 0.05
    assert metrics.duration_s > 0 and metrics.tokens_per_s > 0
    train_events = [e for e in events if e["kind"] == "train"]
    assert [e["iteration"] for e in train_events] == [10, 20]
    assert train_events[-1]["trained_tokens"] > 0
    val_events = [e for e in events if e["kind"] == "val"]
    assert [e["val_loss"] for e in val_events] == [metrics.start_val_loss, metrics.final_val_loss]
    config = json.loads((out / "adapter_config.json").read_text("utf-8"))
    assert config["fine_tune_type"] == "lora"
    assert config["lora_parameters"] == {"rank": 8, "scale": 20.0, "dropout": 0.0}
    assert (config["num_layers"], config["iters"], config["learning_rate"]) == (2, ITERS, LR)


def test_loads_with_stock_mlx_lm_and_changes_logits(
    tiny: Path, trained: tuple[Path, TrainingMetrics, list[dict[str, Any]]]
) -> None:
    import mlx.core as mx
    import mlx_lm

    load: Any = mlx_lm.load  # untyped: its Union return type confuses mypy
    base_model, tokenizer = load(str(tiny))
    tuned_model, _ = load(str(tiny), adapter_path=str(trained[0]))
    prompt = mx.array([tokenizer.encode("Merhaba, nasılsın?")])
    base_logits, tuned_logits = base_model(prompt), tuned_model(prompt)
    assert base_logits.shape == tuned_logits.shape
    assert mx.abs(base_logits - tuned_logits).max() > 1e-3


def test_matches_stock_cli(
    stock_cli_run: Path, trained: tuple[Path, TrainingMetrics, list[dict[str, Any]]]
) -> None:
    import mlx.core as mx

    ours = json.loads((trained[0] / "adapter_config.json").read_text("utf-8"))
    stock = json.loads((stock_cli_run / "adapter_config.json").read_text("utf-8"))
    assert set(stock) <= set(ours)
    assert set(stock["lora_parameters"]) == set(ours["lora_parameters"])
    # Same seed, data order and optimiser as the CLI: the same weights up to float summation
    # order (evotr computes the output layer only at the answer positions; same loss, same math).
    stock_w = mx.load(str(stock_cli_run / "adapters.safetensors"))
    our_w = mx.load(str(trained[0] / "adapters.safetensors"))
    assert isinstance(stock_w, dict) and isinstance(our_w, dict)
    assert sorted(stock_w) == sorted(our_w)
    # Adam divides by sqrt(v): where a gradient is near zero, rounding flips the step's sign, so
    # single entries may differ by ~2·lr·steps; the weights as a whole must agree.
    diff = sum(float(mx.sum((stock_w[k] - our_w[k]) ** 2).item()) for k in stock_w) ** 0.5
    norm = sum(float(mx.sum(stock_w[k] ** 2).item()) for k in stock_w) ** 0.5
    assert diff <= 0.02 * norm


def test_same_seed_gives_identical_weights(
    root: Path, tiny: Path, dataset: Path, trained: tuple[Path, TrainingMetrics, list[dict[str, Any]]]
) -> None:
    import mlx.core as mx

    out = root / "again" / "tr_chat_v1"
    metrics = MlxLoraTrainer(seed=0).train(make_job(tiny, dataset), out)
    first = mx.load(str(trained[0] / "adapters.safetensors"))
    second = mx.load(str(out / "adapters.safetensors"))
    assert isinstance(first, dict) and isinstance(second, dict)
    assert sorted(first) == sorted(second) and first
    assert all(mx.array_equal(first[k], second[k]).item() for k in first)
    assert (metrics.start_val_loss, metrics.final_val_loss) == (trained[1].start_val_loss,
                                                                trained[1].final_val_loss)


def test_malformed_line_is_named(tmp_path: Path, tiny: Path, dataset: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(dataset / "valid.jsonl", bad / "valid.jsonl")
    lines = (dataset / "train.jsonl").read_text("utf-8").splitlines()
    lines[2] = '{"messages": [oops'
    (bad / "train.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(TrainingError, match=r"train\.jsonl:3"):
        MlxLoraTrainer().train(make_job(tiny, bad), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no_folder", "does not exist"),
        ("no_valid", r"valid\.jsonl is missing"),
        ("empty_train", r"train\.jsonl is empty"),
        ("off_format", r"train\.jsonl:1: expected"),
        ("too_few", "fewer than batch_size"),
    ],
)
def test_bad_dataset(tmp_path: Path, tiny: Path, dataset: Path, setup: str, message: str) -> None:
    data = tmp_path / "data"
    if setup != "no_folder":
        data.mkdir()
        shutil.copy(dataset / "train.jsonl", data / "train.jsonl")
        shutil.copy(dataset / "valid.jsonl", data / "valid.jsonl")
    if setup == "no_valid":
        (data / "valid.jsonl").unlink()
    elif setup == "empty_train":
        (data / "train.jsonl").write_text("", "utf-8")
    elif setup == "off_format":
        (data / "train.jsonl").write_text('{"text": "düz metin"}\n', "utf-8")
    elif setup == "too_few":
        first = (dataset / "valid.jsonl").read_text("utf-8").splitlines()[0]
        (data / "valid.jsonl").write_text(first + "\n", "utf-8")
    with pytest.raises(TrainingError, match=message):
        MlxLoraTrainer().train(make_job(tiny, data), tmp_path / "out")


def test_missing_base_model(tmp_path: Path, dataset: Path) -> None:
    with pytest.raises(TrainingError, match=r"base model .* not found"):
        MlxLoraTrainer().train(make_job(tmp_path / "nope", dataset), tmp_path / "out")


def test_non_empty_output_refused_and_untouched(tmp_path: Path, tiny: Path, dataset: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", "utf-8")
    with pytest.raises(TrainingError, match="not empty"):
        MlxLoraTrainer().train(make_job(tiny, dataset), out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text("utf-8") == "mine"


def test_failed_run_leaves_nothing(tmp_path: Path, tiny: Path, dataset: Path) -> None:
    out = tmp_path / "adapters" / "tr_chat_v1"
    with pytest.raises(TrainingError, match="num_layers=5"):
        MlxLoraTrainer().train(make_job(tiny, dataset, num_layers=5), out)
    assert list(out.parent.iterdir()) == []


def test_empty_output_dir_is_used(tmp_path: Path, tiny: Path, dataset: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    MlxLoraTrainer().train(make_job(tiny, dataset, iterations=2), out)
    assert (out / "adapters.safetensors").is_file() and (out / "adapter_config.json").is_file()


def test_metrics_keep_the_loss_curve_and_peak_memory(
    trained: tuple[Path, TrainingMetrics, list[dict[str, Any]]],
) -> None:
    _, metrics, events = trained
    points = [(p.kind, p.iteration) for p in metrics.curve]
    assert points == [("val", 0), ("train", 10), ("train", 20), ("val", ITERS)]
    train_losses = [e["train_loss"] for e in events if e["kind"] == "train"]
    assert [p.loss for p in metrics.curve if p.kind == "train"] == train_losses
    assert metrics.curve[-1].loss == metrics.final_val_loss
    assert metrics.peak_memory_mb is not None and metrics.peak_memory_mb > 0
    assert len(metrics.base_model_hash) == 16 and len(metrics.dataset_hash) == 16


def test_fingerprints_change_with_the_inputs_they_name(tmp_path: Path, tiny: Path, dataset: Path) -> None:
    from evotr.infrastructure.mlx.training_inputs import fingerprint_dataset, fingerprint_model

    copy = tmp_path / "data"
    shutil.copytree(dataset, copy)
    assert fingerprint_dataset(copy) == fingerprint_dataset(dataset)
    with (copy / "valid.jsonl").open("a", encoding="utf-8") as handle:
        row = {"messages": [{"role": "user", "content": "bir"}, {"role": "assistant", "content": "iki"}]}
        handle.write(json.dumps(row) + "\n")
    assert fingerprint_dataset(copy) != fingerprint_dataset(dataset)
    model = tmp_path / "model"
    shutil.copytree(tiny, model)
    assert fingerprint_model(model) == fingerprint_model(tiny)
    (model / "config.json").write_text((tiny / "config.json").read_text("utf-8") + " ", "utf-8")
    assert fingerprint_model(model) != fingerprint_model(tiny)


def test_mlx_lm_config_keys_in_extra_reach_the_run(root: Path, tiny: Path, dataset: Path) -> None:
    job = make_job(tiny, dataset, iterations=4, extra={"steps_per_eval": 2, "val_batches": 1,
                                                      "grad_checkpoint": True, "steps_per_report": 1})
    out = root / "adapters" / "extra_v1"
    metrics = MlxLoraTrainer(seed=0, steps_per_report=2).train(job, out)
    config = json.loads((out / "adapter_config.json").read_text("utf-8"))
    assert (config["steps_per_eval"], config["val_batches"], config["grad_checkpoint"]) == (2, 1, True)
    # steps_per_report from the config beats the trainer's default of 2: a train loss every step.
    assert [p.iteration for p in metrics.curve if p.kind == "train"] == [1, 2, 3, 4]
    # Validation during training (steps_per_eval) shows up in the curve between the two ends;
    # mlx-lm labels each with the updates done before it (1 after step 2, 3 before the last).
    assert [p.iteration for p in metrics.curve if p.kind == "val"] == [0, 1, 3, 4]


def test_out_of_memory_says_so_and_registers_nothing(root: Path, tiny: Path, dataset: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import mlx_lm.tuner.trainer as mlx_trainer

    def exhausted(**_: Any) -> None:  # what MLX raises when an allocation fails
        raise RuntimeError("[malloc] Attempting to allocate 68719476736 bytes which is greater than "
                           "the maximum allowed buffer size; out of memory")

    monkeypatch.setattr(mlx_trainer, "train", exhausted)
    out = root / "adapters" / "oom_v1"
    with pytest.raises(TrainingError, match=r"out of memory while training .*memory-friendly"):
        MlxLoraTrainer(seed=0).train(make_job(tiny, dataset), out)
    assert not out.exists() and not [p for p in out.parent.iterdir() if p.name.startswith(".oom")]
