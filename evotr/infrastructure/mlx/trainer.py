"""A real LoRA Trainer on mlx-lm: the same steps as ``mlx_lm lora --train``, driven in-process.

It loads the base model, freezes it, converts the last ``num_layers`` blocks to LoRA with
mlx-lm's ``linear_to_lora_layers``, reads the dataset with mlx-lm's loader and runs mlx-lm's
``train`` with Adam, so loss and tokens/s match what the stock CLI reports. The result is an
mlx-lm adapter folder (``adapter_config.json`` + ``adapters.safetensors``) that
``mlx_lm.load(base, adapter_path=...)`` and ``mlx_lm generate --adapter-path`` accept.
"""

from __future__ import annotations

import contextlib
import copy
import io
import sys
import time
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from evotr.domain.training import LossPoint, TrainingJob, TrainingMetrics
from evotr.infrastructure.filesystem.adapter_documents import LOSS_CURVE_FILE
from evotr.infrastructure.mlx.answer_loss import training_loss
from evotr.infrastructure.mlx.errors import TrainingError
from evotr.infrastructure.mlx.training_inputs import check_inputs, fingerprint_dataset, fingerprint_model
from evotr.infrastructure.mlx.training_state import out_of_memory, resume_from, staged_output
from evotr.infrastructure.plots.loss_curve import loss_curve_png
from evotr.ports.trainer import Progress, Trainer

ADAPTER_FILE = "adapters.safetensors"
CONFIG_FILE = "adapter_config.json"



def _lora_parameters(job: TrainingJob) -> dict[str, Any]:
    try:
        scale = float(job.extra.get("scale", 20.0))  # type: ignore[arg-type]
        dropout = float(job.extra.get("dropout", 0.0))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise TrainingError(f"extra.scale and extra.dropout must be numbers: {exc}") from exc
    parameters: dict[str, Any] = {"rank": job.rank, "scale": scale, "dropout": dropout}
    keys = job.extra.get("keys")
    if keys is not None:  # mlx-lm's lora_parameters.keys: which linear layers get LoRA
        if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
            raise TrainingError(f"lora_parameters.keys must be a list of layer names, got {keys!r}")
        parameters["keys"] = list(keys)
    return parameters


def _make_callback(progress: Progress, reports: list[dict[str, Any]], curve: list[LossPoint]) -> Any:
    """An mlx-lm TrainingCallback: keeps train reports and the loss curve, forwards all to ``progress``."""
    from mlx_lm.tuner.callbacks import TrainingCallback

    class _Callback(TrainingCallback):
        def on_train_loss_report(self, train_info: dict[str, Any]) -> None:
            reports.append(dict(train_info))
            curve.append(LossPoint("train", int(train_info["iteration"]), float(train_info["train_loss"])))
            progress({"kind": "train", **train_info})

        def on_val_loss_report(self, val_info: dict[str, Any]) -> None:
            # mlx-lm labels a validation with the updates done so far; its first one (0) repeats
            # the start loss the trainer measured itself, so the curve keeps only one.
            if int(val_info["iteration"]) > 0:
                curve.append(LossPoint("val", int(val_info["iteration"]), float(val_info["val_loss"])))
            progress({"kind": "val", **val_info})

    return _Callback()


def _extra_int(job: TrainingJob, key: str, default: int | None) -> int | None:
    """An integer option of ``job.extra`` (mlx-lm's config key), or ``default``."""
    value = job.extra.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise TrainingError(f"{key} must be a whole number, got {value!r}")
    return value


def _tokens_per_s(reports: list[dict[str, Any]], duration_s: float) -> float:
    """Trained tokens over mlx-lm's own step timings, which leave out evaluation and saving."""
    trained = float(reports[-1]["trained_tokens"]) if reports else 0.0
    step_time, before = 0.0, 0.0
    for report in reports:
        window = float(report["trained_tokens"]) - before
        before = float(report["trained_tokens"])
        if report.get("tokens_per_second"):
            step_time += window / float(report["tokens_per_second"])
    seconds = step_time if step_time > 0 else duration_s
    return trained / seconds if seconds > 0 else 0.0


def _outside_quiet(progress: Progress | None) -> Progress:
    """Call ``progress`` (if any) with today's stdout, not the sink a quiet run swaps in."""
    stdout = sys.stdout

    def call(event: Mapping[str, object]) -> None:
        if progress is not None:
            with contextlib.redirect_stdout(stdout):
                progress(event)

    return call


class MlxLoraTrainer(Trainer):
    """Trainer port on mlx-lm; one ``train`` call is one ``mlx_lm lora --train`` run.

    ``val_batches`` (-1: the whole valid set) sets the batches of the before/after validation
    loss; ``steps_per_eval`` (None: off) also makes mlx-lm validate during training.
    ``progress`` receives mlx-lm's reports as dicts with ``kind`` ``"train"`` or ``"val"``.
    ``quiet`` hides mlx-lm's own console output (its progress bar and tables).
    """

    def __init__(self, *, seed: int = 0, val_batches: int = -1, steps_per_report: int = 10,
                 steps_per_eval: int | None = None, progress: Progress | None = None,
                 quiet: bool = True) -> None:
        if steps_per_report < 1 or (steps_per_eval is not None and steps_per_eval < 1):
            raise ValueError("steps_per_report and steps_per_eval must be at least 1")
        if val_batches == 0 or val_batches < -1:
            raise ValueError("val_batches must be -1 (all) or at least 1")
        self._seed = seed
        self._val_batches = val_batches
        self._steps_per_report = steps_per_report
        self._steps_per_eval = steps_per_eval
        self._progress = progress
        self._quiet = quiet

    def train(self, job: TrainingJob, output_dir: Path, progress: Progress | None = None) -> TrainingMetrics:
        """Train ``job`` and write its adapter (and ``loss.png``) to ``output_dir``, which must be empty.

        The run writes into a hidden folder beside ``output_dir`` and renames it at the end, so a
        crash never leaves a half-written adapter at ``output_dir``. ``progress`` (else the one
        given at construction) receives every loss report.
        """
        output_dir = Path(output_dir)
        dataset, base = check_inputs(job, output_dir)
        emit = _outside_quiet(progress or self._progress)
        with staged_output(output_dir) as staging:
            with contextlib.redirect_stdout(io.StringIO()) if self._quiet else contextlib.nullcontext():
                metrics = self._run(job, base, dataset, staging, output_dir, emit)
            metrics = attrs.evolve(metrics, base_model_hash=fingerprint_model(base),
                                   dataset_hash=fingerprint_dataset(dataset))
            (staging / LOSS_CURVE_FILE).write_bytes(loss_curve_png(metrics.curve, job.version.name))
            for stray in staging.glob("*_adapters.safetensors"):
                stray.unlink()  # periodic checkpoints: only the final adapter is kept
        return metrics

    def _cli_config(self, job: TrainingJob, dataset: Path, output_dir: Path,
                    training_args: Any, seed: int) -> dict[str, Any]:
        """The dict ``mlx_lm lora`` saves as adapter_config.json, filled with this run's values."""
        import mlx_lm.lora

        cli: Any = mlx_lm.lora  # untyped; keep mypy from checking calls into it
        # Same construction as mlx_lm.lora.main: every CLI option, defaults filled in.
        config: dict[str, Any] = dict(vars(cli.build_parser().parse_args([])))
        for key, value in cli.CONFIG_DEFAULTS.items():
            if config.get(key) is None:
                config[key] = copy.deepcopy(value)
        config.update(
            model=job.base_model, data=str(dataset), train=True, fine_tune_type="lora",
            optimizer="adam", seed=seed, num_layers=job.num_layers,
            batch_size=job.batch_size, iters=job.iterations, val_batches=training_args.val_batches,
            learning_rate=job.learning_rate, steps_per_report=self._steps_per_report,
            steps_per_eval=training_args.steps_per_eval, save_every=training_args.steps_per_save,
            adapter_path=str(output_dir), max_seq_length=job.max_seq_length,
            grad_checkpoint=training_args.grad_checkpoint,
            mask_prompt=bool(job.extra.get("mask_prompt", False)),
            lora_parameters=_lora_parameters(job), evotr_version=job.version.name,
        )
        return config

    def _run(self, job: TrainingJob, base: Path, dataset: Path, staging: Path,
             output_dir: Path, emit: Progress) -> TrainingMetrics:
        import mlx.core as mx
        import mlx.optimizers as optim
        import numpy as np
        from mlx_lm.tuner import datasets, utils
        from mlx_lm.tuner import trainer as mlx_trainer
        from mlx_lm.utils import save_config

        from evotr.infrastructure.mlx.base_loading import load_base

        # mlx-lm is untyped: Any keeps mypy from second-guessing its signatures.
        ds: Any = datasets
        tuner: Any = mlx_trainer
        lora: Any = utils
        CacheDataset, load_dataset = ds.CacheDataset, ds.load_dataset
        TrainingArgs, evaluate, train = tuner.TrainingArgs, tuner.evaluate, tuner.train

        # mlx-lm's own config keys in job.extra (from `evotr train -c`) beat the trainer's defaults.
        steps_per_eval = _extra_int(job, "steps_per_eval", self._steps_per_eval)
        steps_per_report = _extra_int(job, "steps_per_report", self._steps_per_report) or 1
        val_batches = _extra_int(job, "val_batches", self._val_batches)
        if val_batches == 0 or (val_batches is not None and val_batches < -1):
            raise TrainingError(f"val_batches must be -1 (all) or at least 1, got {val_batches}")
        training_args = TrainingArgs(
            batch_size=job.batch_size, iters=job.iterations, val_batches=val_batches,
            steps_per_report=max(1, steps_per_report),
            steps_per_eval=steps_per_eval or job.iterations + 1,
            # Past the last step: mlx-lm writes no numbered checkpoints, only the final adapter.
            steps_per_save=job.iterations + 1,
            adapter_file=str(staging / ADAPTER_FILE), max_seq_length=job.max_seq_length,
            grad_checkpoint=bool(job.extra.get("grad_checkpoint", False)),
        )
        seed = _extra_int(job, "seed", self._seed) or 0
        config = self._cli_config(job, dataset, output_dir, training_args, seed)
        np.random.seed(seed)  # as mlx_lm.lora.run: numpy drives the batch order
        try:
            model, tokenizer = load_base(str(base))
        except (OSError, ValueError, KeyError) as exc:
            raise TrainingError(f"base model {job.base_model!r} could not be loaded: {exc}") from exc
        try:
            train_set, valid_set, _ = load_dataset(
                types.SimpleNamespace(data=str(dataset), train=True, test=False,
                                      mask_prompt=config["mask_prompt"]), tokenizer)
        except (ValueError, KeyError, TypeError) as exc:
            raise TrainingError(f"dataset {dataset} could not be read by mlx-lm: {exc}") from exc

        # As mlx_lm.lora.train_model: seed, freeze, convert to LoRA (which unfreezes LoRA weights).
        mx.random.seed(seed)
        model.freeze()
        if job.num_layers > len(model.layers):
            raise TrainingError(f"num_layers={job.num_layers} but the base model has only "
                                f"{len(model.layers)} layers")
        lora.linear_to_lora_layers(model, job.num_layers, config["lora_parameters"])
        resume = job.extra.get("resume_adapter_file")
        if resume is not None:  # mlx-lm's key: start from an earlier adapter's weights
            config["resume_adapter_file"] = str(resume)
            resume_from(model, Path(str(resume)))
        lora.print_trainable_parameters(model)
        save_config(config, staging / CONFIG_FILE)

        train_data, valid_data = CacheDataset(train_set), CacheDataset(valid_set)
        # Logits only where the loss looks (exact; ~40 % less time a step on Gemma 3 270M's CPU demo).
        loss, batches = training_loss(model, train_data[0][0], tuner.iterate_batches, tuner.default_loss)

        def val_loss() -> float:
            # Same numpy seed each time, so before and after see the same batches; the training
            # order's random state is restored untouched.
            state = np.random.get_state()
            np.random.seed(seed)
            try:
                return float(evaluate(model=model, dataset=valid_data, batch_size=job.batch_size,
                                      num_batches=val_batches, max_seq_length=job.max_seq_length,
                                      loss=loss, iterate_batches=batches))
            finally:
                np.random.set_state(state)

        reports: list[dict[str, Any]] = []
        curve: list[LossPoint] = []
        try:
            start_loss = val_loss()
            curve.append(LossPoint("val", 0, start_loss))
            emit({"kind": "val", "iteration": 0, "val_loss": start_loss})
            tic = time.perf_counter()
            train(model=model, optimizer=optim.Adam(learning_rate=job.learning_rate),
                  train_dataset=train_data,
                  val_dataset=valid_data if steps_per_eval is not None else None,
                  args=training_args, loss=loss, iterate_batches=batches,
                  training_callback=_make_callback(emit, reports, curve))
            duration = time.perf_counter() - tic
            final_loss = val_loss()
        except (MemoryError, RuntimeError) as exc:
            if not out_of_memory(exc):
                raise
            raise TrainingError(
                f"out of memory while training {job.version} (batch_size={job.batch_size}, "
                f"max_seq_length={job.max_seq_length}, num_layers={job.num_layers}, rank={job.rank}); "
                "nothing was registered. Use the memory-friendly preset (`evotr train --preset "
                "memory-friendly`: batch 2, 8 layers, rank 8, seq 512) or grad_checkpoint: true"
            ) from exc
        if curve[-1] != LossPoint("val", job.iterations, final_loss):
            curve.append(LossPoint("val", job.iterations, final_loss))
        emit({"kind": "val", "iteration": job.iterations, "val_loss": final_loss})
        return TrainingMetrics(start_val_loss=start_loss, final_val_loss=final_loss,
                               duration_s=duration, tokens_per_s=_tokens_per_s(reports, duration),
                               # As mlx-lm reports it: the process's peak, model weights included.
                               peak_memory_mb=mx.get_peak_memory() / 2**20, curve=tuple(curve))
