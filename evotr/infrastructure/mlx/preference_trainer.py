"""DPO on LoRA with mlx-lm and ONE copy of the base model in memory (the PreferenceTrainer port).

The run loads the base model once (``mlx_lm.load``), freezes it and wraps the LoRA layers with
mlx-lm's ``linear_to_lora_layers``: shaped by ``job.init_adapter``'s adapter_config.json (rank,
scale, dropout, num_layers, keys) and loaded with its weights when there is one, else fresh
LoRA from the job (rank, num_layers, ``extra`` scale/dropout/keys). The reference policy is that
starting point: before the first update, the same model with its starting weights scores every
pair's chosen and rejected answers once (``reference_logprobs``); those numbers are all DPO needs
of the reference, so there is no second model, no copy of the base weights and no adapter swap
(the gate measures the result on the resident backend later, by hot-swap).

Each step: a batch of pairs (chosen rows then rejected rows, right-padded, completion-only
mask), the sigmoid DPO loss of ``preference_loss`` on summed log-probs, ``nn.value_and_grad``
over the trainable (LoRA) parameters only, Adam, ``mx.eval``. The pairs are tokenised exactly as
``MlxLLMBackend.logprobs`` tokenises them (``preference_data``), so training raises the
numbers the promotion gate measures. Only the completion's positions go through the LM head
when the model is mlx-lm's usual ``head(model.model(x))`` (checked on a probe: ``split_head``),
which halves a step on Gemma's 262k-token vocabulary and keeps the logits small. The adapter
folder is written to a hidden staging folder and renamed into place; stock
``mlx_lm.load(base, adapter_path=...)`` loads it.

KTO (``method="kto"``) is not implemented: such a job is refused with a TrainingError.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import numpy as np

from evotr.domain.learning import PreferenceJob, PreferenceMetrics, PreferenceStep
from evotr.infrastructure.mlx.errors import AdapterLoadError, TrainingError
from evotr.infrastructure.mlx.preference_data import TokenPair, batch_order, pad_batch, tokenize_pairs
from evotr.infrastructure.mlx.training_state import out_of_memory, staged_output
from evotr.ports.preference_trainer import PreferenceTrainer
from evotr.ports.trainer import Progress

ADAPTER_FILE = "adapters.safetensors"
CONFIG_FILE = "adapter_config.json"


def _number(job: PreferenceJob, key: str, default: float) -> float:
    value = job.extra.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TrainingError(f"extra.{key} must be a number, got {value!r}")
    return float(value)


def lora_settings(job: PreferenceJob) -> tuple[int, dict[str, Any], Any]:
    """(num_layers, mlx-lm lora_parameters, the init AdapterFolder or None) of the run."""
    if job.init_adapter is None:
        params: dict[str, Any] = {"rank": job.rank, "scale": _number(job, "scale", 20.0),
                                  "dropout": _number(job, "dropout", 0.0)}
        keys = job.extra.get("keys")
        if keys is not None:
            if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
                raise TrainingError(f"extra.keys must be a list of layer names, got {keys!r}")
            params["keys"] = list(keys)
        return job.num_layers, params, None
    import json

    from evotr.infrastructure.mlx.adapter_folder import CONFIG_FILE as INIT_CONFIG
    from evotr.infrastructure.mlx.adapter_folder import read_adapter_folder

    try:
        folder = read_adapter_folder(job.version, job.init_adapter)
        dropout = json.loads((folder.path / INIT_CONFIG).read_text("utf-8"))["lora_parameters"].get(
            "dropout", 0.0)
    except AdapterLoadError as exc:
        raise TrainingError(f"init_adapter {job.init_adapter!r} cannot start DPO: {exc.reason}") from exc
    params = {"rank": folder.rank, "scale": folder.scale, "dropout": float(dropout)}
    if folder.keys is not None:
        params["keys"] = list(folder.keys)
    return folder.num_layers, params, folder


def _load_init(model: Any, folder: Any) -> None:
    """Put the init adapter's LoRA weights into the freshly wrapped layers (shapes checked)."""
    from evotr.infrastructure.mlx.lora_layout import fit_problems

    problems = fit_problems(model, folder)
    if problems:
        raise TrainingError(f"init_adapter {str(folder.path)!r} does not fit the base model: "
                            f"{'; '.join(problems[:3])}")
    weights = [(f"{path}.{leaf}", array) for path, (a, b) in folder.modules.items()
               for leaf, array in (("lora_a", a), ("lora_b", b))]
    model.load_weights(weights, strict=False)


def reference_logprobs(model: Any, pairs: list[TokenPair], batch_size: int,
                       split: Any = None) -> np.ndarray:
    """(pairs, 2) summed completion log-probs of chosen and rejected under ``model`` as it is now."""
    import mlx.core as mx

    from evotr.infrastructure.mlx.preference_loss import completion_scores

    found = np.zeros((len(pairs), 2), dtype=np.float32)
    for start in range(0, len(pairs), batch_size):
        batch = pairs[start:start + batch_size]
        tokens, mask = (mx.array(a) for a in pad_batch(batch))
        scores = mx.stop_gradient(completion_scores(model, tokens, mask, split))
        values = np.array(scores.astype(mx.float32))
        found[start:start + len(batch), 0] = values[:len(batch)]
        found[start:start + len(batch), 1] = values[len(batch):]
    return found


class MlxPreferenceTrainer(PreferenceTrainer):
    """PreferenceTrainer on MLX: DPO (sigmoid loss) on LoRA, one base model, reference computed once.

    ``seed`` (overridden by ``job.extra["seed"]``) fixes the LoRA initialisation and the batch
    order; ``progress`` (overridden by the one given to ``train``) receives one
    ``{"kind": "dpo", ...}`` dict per step.
    """

    def __init__(self, *, seed: int = 0, progress: Progress | None = None) -> None:
        self._seed = seed
        self._progress = progress

    def train(self, job: PreferenceJob, output_dir: Path,
              progress: Progress | None = None) -> PreferenceMetrics:
        """Train ``job`` and write its adapter folder to ``output_dir`` (absent or empty)."""
        if job.method != "dpo":
            raise TrainingError(f"method {job.method!r} is not implemented by the MLX preference "
                                "trainer (only 'dpo'); train KTO data with TRL, or use method='dpo' "
                                "on (correction ≻ original) pairs")
        output_dir = Path(output_dir)
        if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
            raise TrainingError(f"output folder {output_dir} already exists and is not empty; "
                                "refusing to overwrite an adapter")
        base = Path(job.base_model)
        if not (base / "config.json").is_file() or not any(base.glob("model*.safetensors")):
            raise TrainingError(f"base model {job.base_model!r} not found: expected a local mlx-lm "
                                "model folder with config.json and model*.safetensors")
        seed = job.extra.get("seed", self._seed)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TrainingError(f"extra.seed must be a whole number, got {seed!r}")
        emit = progress or self._progress
        with staged_output(output_dir) as staging:
            metrics = self._run(job, base, seed, staging, output_dir, emit)
        return metrics

    def _run(self, job: PreferenceJob, base: Path, seed: int, staging: Path, output_dir: Path,
             emit: Progress | None) -> PreferenceMetrics:
        import mlx.core as mx
        import mlx.optimizers as optim
        from mlx.utils import tree_flatten
        from mlx_lm.tuner import utils

        from evotr.infrastructure.mlx.base_loading import load_base
        from evotr.infrastructure.mlx.precision import float32_on_cpu
        from evotr.infrastructure.mlx.preference_loss import split_head

        tuner: Any = utils
        num_layers, lora_parameters, init = lora_settings(job)
        mx.reset_peak_memory()
        try:
            model, tokenizer = load_base(str(base))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise TrainingError(f"base model {job.base_model!r} could not be loaded: {exc}") from exc
        float32_on_cpu(model)  # as MlxLLMBackend: the gate scores in the same precision
        if num_layers > len(model.layers):
            raise TrainingError(f"num_layers={num_layers} but the base model has only "
                                f"{len(model.layers)} layers")
        pairs = tokenize_pairs(job.pairs, tokenizer, job.max_seq_length)
        mx.random.seed(seed)
        model.freeze()
        tuner.linear_to_lora_layers(model, num_layers, lora_parameters)
        if init is not None:
            _load_init(model, init)

        tic = time.perf_counter()
        model.eval()
        split = split_head(model, mx.array(pairs[0].chosen.tokens[:16])[None])
        reference = reference_logprobs(model, pairs, job.batch_size, split)  # once: the starting policy
        if job.only_unranked:
            from evotr.domain.feedback_training import unranked_pairs

            keep = unranked_pairs(reference[:, 0].tolist(), reference[:, 1].tolist())
            if emit is not None:
                emit({"kind": "dpo-pairs", "pairs": len(pairs), "unranked": len(keep)})
            pairs, reference = [pairs[i] for i in keep], reference[keep]
        model.train()
        optimizer = optim.Adam(learning_rate=job.learning_rate)
        steps: list[PreferenceStep] = []
        try:
            if pairs:  # none left: the starting policy already ranks every pair; it is the result
                self._loop(job, pairs, reference, seed, split, model, optimizer, steps, emit)
        except (MemoryError, RuntimeError) as exc:
            if not out_of_memory(exc):
                raise
            raise TrainingError(f"out of memory while training {job.version} with DPO (batch_size="
                                f"{job.batch_size}, max_seq_length={job.max_seq_length}); nothing was "
                                "written. Lower batch_size or max_seq_length") from exc
        duration = time.perf_counter() - tic
        model.eval()
        mx.save_safetensors(str(staging / ADAPTER_FILE), dict(tree_flatten(model.trainable_parameters())))
        self._write_config(job, staging / CONFIG_FILE, output_dir, num_layers, lora_parameters, seed,
                           len(pairs))
        return PreferenceMetrics(steps, duration_s=duration, pairs_trained=len(pairs),  # type: ignore[arg-type]
                                 # As mlx-lm reports it: this run's peak, model weights included.
                                 peak_memory_mb=mx.get_peak_memory() / 2**20)

    @staticmethod
    def _loop(job: PreferenceJob, pairs: list[TokenPair], reference: np.ndarray, seed: int, split: Any,
              model: Any, optimizer: Any, steps: list[PreferenceStep], emit: Progress | None) -> None:
        """The DPO steps: value_and_grad over the LoRA parameters, Adam, one ``mx.eval`` per step."""
        import mlx.core as mx
        import mlx.nn

        from evotr.domain.feedback_training import dpo_converged
        from evotr.infrastructure.mlx.preference_loss import DpoTerms, dpo_batch_loss, dpo_stats

        nn: Any = mlx.nn
        loss_and_grad = nn.value_and_grad(model, dpo_batch_loss)
        epoch = -(-len(pairs) // job.batch_size)  # steps that show every pair once
        for iteration, indices in enumerate(batch_order(len(pairs), job.batch_size, job.iterations, seed),
                                            start=1):
            tokens, mask = pad_batch([pairs[i] for i in indices])
            ref = np.concatenate([reference[indices, 0], reference[indices, 1]])
            (loss, chosen, rejected), grads = loss_and_grad(model, mx.array(tokens), mx.array(mask),
                                                             mx.array(ref), job.beta, split)
            optimizer.update(model, grads)
            mx.eval(model.trainable_parameters(), optimizer.state, loss, chosen, rejected)
            stats = dpo_stats(DpoTerms(loss, chosen, rejected))
            step = PreferenceStep(iteration, stats.loss, stats.chosen_reward, stats.rejected_reward,
                                  stats.accuracy)
            steps.append(step)
            if emit is not None:
                emit({"kind": "dpo", **step.as_dict()})
            if dpo_converged([s.loss for s in steps], epoch, job.stop_loss):
                if emit is not None:
                    emit({"kind": "dpo-stopped", "iteration": iteration, "stop_loss": job.stop_loss})
                break

    @staticmethod
    def _write_config(job: PreferenceJob, file: Path, output_dir: Path, num_layers: int,
                      lora_parameters: dict[str, Any], seed: int, pairs: int) -> None:
        """mlx-lm's adapter_config.json (its CLI defaults, this run's values) plus the DPO settings."""
        from mlx_lm.lora import CONFIG_DEFAULTS
        from mlx_lm.utils import save_config

        config: dict[str, Any] = copy.deepcopy(dict(CONFIG_DEFAULTS))
        config.update(
            model=job.base_model, train=True, fine_tune_type="lora", optimizer="adam", seed=seed,
            num_layers=num_layers, lora_parameters=lora_parameters, batch_size=job.batch_size,
            iters=job.iterations, learning_rate=job.learning_rate, max_seq_length=job.max_seq_length,
            adapter_path=str(output_dir), evotr_version=job.version.name,
            evotr_preference={"method": job.method, "beta": job.beta, "pairs": pairs,
                              "init_adapter": job.init_adapter,
                              "reference": "init_adapter" if job.init_adapter else "base model"},
        )
        save_config(config, file)
