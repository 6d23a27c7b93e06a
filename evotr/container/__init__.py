"""The dependency-injector container: the one place that picks implementations, from config.

Containers are split by concern — ``Storage``, ``Models``, ``UseCases`` (one module each) — and
each backend is a ``Selector`` over ``config.backends.<port>``; every provider can be overridden.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dependency_injector import containers, providers

from evotr.application.settings import Settings
from evotr.container.learning import Learning
from evotr.container.memory import Memory
from evotr.container.models import Models
from evotr.container.storage import Storage
from evotr.container.use_cases import UseCases

__all__ = ["Container", "Learning", "Memory", "Models", "Storage", "UseCases", "build_container",
           "container_for"]


class Container(containers.DeclarativeContainer):
    """The application's root container; build it with :func:`build_container`."""

    config = providers.Configuration()
    settings = providers.Dependency(instance_of=Settings)

    storage = providers.Container(Storage, config=config, settings=settings)
    models = providers.Container(Models, config=config, settings=settings)
    memory = providers.Container(Memory, settings=settings, models=models, storage=storage)
    use_cases = providers.Container(UseCases, settings=settings, storage=storage, models=models,
                                    memory=memory)
    learning = providers.Container(Learning, settings=settings, storage=storage, models=models)


def container_for(settings: Settings) -> Container:
    """A container for already-validated settings (tests build settings by hand too)."""
    container = Container(settings=providers.Object(settings))
    container.config.from_dict(
        {"backends": dict(settings.backends), "memory": {"embedder": settings.memory.embedder}}
    )
    return container


def build_container(
    config_file: Path | None = None,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    model: str | None = None,
) -> Container:
    """Resolve and load the config (``--config`` > ``EVOTR_CONFIG`` > home copy > defaults).

    ``home`` (``--home``) beats ``EVOTR_HOME``, which beats the config's ``home`` key;
    ``model`` (``--model``) replaces ``model.path``.
    """
    import attrs

    from evotr.application.settings import ModelSettings
    from evotr.infrastructure.config.loader import load_settings, resolve_config_file
    from evotr.infrastructure.config.model_path import resolve_model_path

    environ = os.environ if env is None else env
    # A home copy of evotr.yaml (made by `evotr init`) is found in the home we would use.
    guess = home or (Path(environ["EVOTR_HOME"]).expanduser() if environ.get("EVOTR_HOME")
                     else Path(".evotr"))
    chosen = resolve_config_file(config_file, guess, environ)
    settings = load_settings(chosen, home=home, env=environ)
    if model is not None:
        # Typed on the command line, so a relative folder is relative to the working directory.
        settings = attrs.evolve(settings, model=ModelSettings(resolve_model_path(model, Path.cwd())))
    return container_for(settings)
