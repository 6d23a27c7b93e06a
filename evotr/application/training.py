"""Use case: train the next version of a family, store it with its manifest, maybe promote it."""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs

from evotr.application.adapters import require_family
from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.training import TrainingJob, TrainingMetrics
from evotr.ports.adapter_store import AdapterStore
from evotr.ports.trainer import Trainer


@attrs.frozen(slots=True)
class TrainingOutcome:
    """The new version, how training went, and whether it is now active."""

    version: AdapterVersion
    metrics: TrainingMetrics
    promoted: bool


class TrainAdapter:
    """Trains ``<family>_v<N+1>`` into a scratch folder, then adds it to the store atomically."""

    def __init__(
        self, mapping: IntentMapping, store: AdapterStore, trainer: Trainer, base_model: str, scratch: Path
    ) -> None:
        self._mapping = mapping
        self._store = store
        self._trainer = trainer
        self._base_model = base_model
        self._scratch = scratch

    def execute(
        self,
        family: AdapterFamily | str,
        dataset: Path,
        *,
        iterations: int = 100,
        rank: int = 8,
        num_layers: int = 8,
        batch_size: int = 2,
        learning_rate: float = 1e-5,
        max_seq_length: int = 512,
        promote: bool = False,
    ) -> TrainingOutcome:
        """Train, store, register; promote only when asked (later: only when it beats the active)."""
        target = family if isinstance(family, AdapterFamily) else AdapterFamily(family)
        require_family(self._mapping, target)
        registry = self._store.load_registry()
        known_numbers = {v.number for v in self._store.versions() if v.family == target}
        known_numbers |= set(registry.state(target).versions)
        version = AdapterVersion(target, max(known_numbers, default=0) + 1)
        job = TrainingJob(version, self._base_model, str(dataset), iterations, rank, num_layers,
                          batch_size, learning_rate, max_seq_length)
        output = self._scratch / version.name
        try:
            metrics = self._trainer.train(job, output)
            manifest = AdapterManifest(version, self._base_model, str(dataset), {
                "start_val_loss": metrics.start_val_loss,
                "final_val_loss": metrics.final_val_loss,
                "improvement_pct": metrics.improvement_pct,
                "duration_s": metrics.duration_s,
                "tokens_per_s": metrics.tokens_per_s,
                "iterations": float(iterations),
            })
            self._store.add(version, output, manifest)
        finally:
            shutil.rmtree(output, ignore_errors=True)
        self._store.update_registry(lambda r: r.register(version))
        if promote:
            self._store.update_registry(lambda r: r.promote(version))
        return TrainingOutcome(version, metrics, promote)
