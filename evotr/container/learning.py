"""The learning loop's wiring: `feedback train`, the gate, the adapter history, auto-training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

from evotr.application.learning.feedback_plan import PlanFeedbackTraining
from evotr.application.learning.feedback_train import TrainFromFeedback
from evotr.application.learning.gate import MeasureGate
from evotr.application.learning.history import ReadAdapterHistory
from evotr.application.settings import Settings


def adapter_history(root: Path) -> Any:
    """``<home>/adapters/history.jsonl`` (imports it only now)."""
    from evotr.infrastructure.filesystem.adapter_history import JsonlAdapterHistory

    return JsonlAdapterHistory(root)


def general_sets() -> Path:
    """The packaged everyday sets the promotion gate checks for regressions (configs/regression/)."""
    from evotr.infrastructure.config.loader import default_config_dir

    return default_config_dir() / "regression"


def background_training(home: Path, config_file: Path | None) -> Any:
    """Detached `feedback train` runs under ``<home>/adapters/.auto_train.lock`` (imports it only now)."""
    from evotr.infrastructure.process.background_training import DetachedFeedbackTraining

    return DetachedFeedbackTraining(home, config_file)


class Learning(containers.DeclarativeContainer):
    """Use cases of the learning loop, wired to the selected backends."""

    settings = providers.Dependency(instance_of=Settings)
    storage = providers.DependenciesContainer()
    models = providers.DependenciesContainer()

    planner = providers.Factory(
        PlanFeedbackTraining, storage.feedback_repository, settings.provided.intents, storage.adapter_store,
        settings.provided.gate.min_corrections,
    )
    # The ONE resident model (models.llm is a singleton) measures candidate and active by hot-swap.
    gate = providers.Factory(MeasureGate, models.llm, storage.evaluation_data, settings.provided.promotion)
    train_from_feedback = providers.Factory(
        TrainFromFeedback, planner, storage.adapter_store, models.trainer, models.preference_trainer, gate,
        storage.adapter_history, storage.evaluation_data, settings.provided.model.path,
        settings.provided.scratch_dir, settings.provided.data_dir, providers.Callable(general_sets),
        models.adapter_blender,
    )
    adapter_history = providers.Factory(
        ReadAdapterHistory, storage.adapter_history, settings.provided.intents
    )
