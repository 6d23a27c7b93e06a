"""``build_assistant()``: the library entry point (the CLI is a thin layer over the same object)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evotr.application.assistant import Assistant


def build_assistant(
    config: str | Path | None = None,
    home: str | Path | None = None,
    *,
    model: str | None = None,
    env: Mapping[str, str] | None = None,
    source: str = "library",
    warm_up: bool = True,
) -> Assistant:
    """Load the config, validate adapters, load the base model once and register every adapter.

    ``config``/``home``/``model`` work like the CLI's ``--config``/``--home``/``--model``.
    With ``warm_up=False`` the model loads on the first message instead.
    """
    from evotr.container import build_container
    from evotr.infrastructure.mlx.blas import configure_blas

    configure_blas(env)  # before the model loads mlx; logs a hint if mlx.core was imported first
    container = build_container(
        None if config is None else Path(config), None if home is None else Path(home), env, model=model
    )
    return assistant_for(container, source=source, warm_up=warm_up)


def assistant_for(container: Any, *, source: str, warm_up: bool = True) -> Assistant:
    """An Assistant on an already-built container (the CLI and the demo share this path)."""
    container.use_cases.init_home().execute()
    if warm_up:
        container.use_cases.warm_up().execute()
    return container.use_cases.assistant(source=source)  # type: ignore[no-any-return]
