"""Per-request LoRA hot-swap on one resident model: a switch is only attribute assignment.

The model carries mlx-lm LoRA wrappers on the union of every registered adapter's modules,
each at the largest rank any adapter uses there (the *layout*). Each adapter is stored as a
*plan*: for every wrapper, its ``lora_a``/``lora_b`` zero-padded to the layout rank (extra
columns of a and rows of b are zero, so ``x @ a @ b`` is unchanged) and its ``scale``; modules
it does not cover get zero arrays and scale 0. The base model (``None``) is all zeros and scale
0, which adds exactly 0.0 to every output: bit-identical to the unwrapped model.

Plans are built and evaluated at registration, so switching never computes anything. Not
thread-safe by itself: the backend serialises calls with its lock.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import mlx.core as mx

from evotr.application.errors import AdapterNotRegisteredError
from evotr.domain.adapters import AdapterVersion
from evotr.infrastructure.mlx.adapter_folder import AdapterFolder
from evotr.infrastructure.mlx.errors import AdapterLoadError
from evotr.infrastructure.mlx.lora_layout import (
    B_RANK_AXIS,
    fit_problems,
    set_module,
    unwrapped_modules,
    wrap,
)

logger = logging.getLogger("evotr.mlx")

# (wrapper, lora_a, lora_b, scale) for one LoRA wrapper.
_Step = tuple[Any, Any, Any, float]
_MAX_LISTED = 6


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" (+{len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")


def _pad(array: Any, axis: int, rank: int) -> Any:
    """``array`` with zeros appended on ``axis`` up to ``rank``."""
    extra = rank - array.shape[axis]
    if extra == 0:
        return array
    widths = [(0, 0)] * array.ndim
    widths[axis] = (0, extra)
    return mx.pad(array, widths)


class LoraSwap:
    """Registered adapters of one model and the switch between them (``None`` = base model)."""

    def __init__(self, model: Any, dtype: Any) -> None:
        self._model = model
        self._dtype = dtype
        self._layout: dict[str, int] = {}
        self._wrappers: dict[str, Any] = {}
        self._adapters: dict[AdapterVersion, AdapterFolder] = {}
        self._plans: dict[AdapterVersion | None, list[_Step]] = {None: []}
        self._zeros: dict[tuple[tuple[int, ...], Any], Any] = {}
        # Invariant: the wrappers always hold the plan of _active.
        self._active: AdapterVersion | None = None

    @property
    def registered(self) -> list[AdapterVersion]:
        """Registered versions in registration order."""
        return list(self._adapters)

    @property
    def active(self) -> AdapterVersion | None:
        """The adapter the model currently computes with (None: base model)."""
        return self._active

    @property
    def layout(self) -> dict[str, int]:
        """Wrapped module path -> rank of its wrapper."""
        return dict(self._layout)

    def add(self, folder: AdapterFolder) -> None:
        """Register (or replace) ``folder``'s adapter; AdapterLoadError leaves everything as it was."""
        problems = fit_problems(self._model, folder)
        if problems:
            raise AdapterLoadError(folder.version, folder.path,
                                   f"it does not fit the base model: {_listed(problems)}")
        modules = {path: (a.astype(self._dtype), b.astype(self._dtype))
                   for path, (a, b) in folder.modules.items()}
        mx.eval(list(modules.values()))
        folder = dataclasses.replace(folder, modules=modules)
        grow = {path: folder.rank for path in modules if self._layout.get(path, 0) < folder.rank}
        if grow:
            self._relayout(grow, folder.version)
        self._adapters[folder.version] = folder
        if grow:
            # New wrappers and ranks: every plan (the base one too) is rebuilt for the new layout.
            self._plans = {None: self._plan(None)}
            self._plans.update((v, self._plan(a)) for v, a in self._adapters.items())
        else:
            self._plans[folder.version] = self._plan(folder)
        if grow or folder.version == self._active:
            self._apply(self._active)

    def activate(self, version: AdapterVersion | None) -> None:
        """Make the model compute with ``version``; a no-op if it already does."""
        if version == self._active:
            return
        if version not in self._plans:
            raise AdapterNotRegisteredError(version, self.registered)
        self._apply(version)

    def _apply(self, version: AdapterVersion | None) -> None:
        for wrapper, a, b, scale in self._plans[version]:
            # Plain dict stores (Module is a dict): skips Module.__setattr__'s checks.
            wrapper["lora_a"] = a
            wrapper["lora_b"] = b
            wrapper.scale = scale
        self._active = version

    def _plan(self, folder: AdapterFolder | None) -> list[_Step]:
        steps: list[_Step] = []
        for path, rank in self._layout.items():
            wrapper = self._wrappers[path]
            if folder is not None and path in folder.modules:
                a, b = folder.modules[path]
                steps.append((wrapper, _pad(a, 1, rank), _pad(b, B_RANK_AXIS[type(wrapper)], rank),
                              folder.scale))
            else:
                steps.append((wrapper, self._zero(wrapper.lora_a.shape),
                              self._zero(wrapper.lora_b.shape), 0.0))
        mx.eval([step[1:3] for step in steps])
        return steps

    def _zero(self, shape: Sequence[int]) -> Any:
        key = (tuple(shape), self._dtype)
        if key not in self._zeros:
            self._zeros[key] = mx.zeros(key[0], dtype=self._dtype)
        return self._zeros[key]

    def _relayout(self, grow: dict[str, int], version: AdapterVersion) -> None:
        """Wrap new modules and re-wrap grown ones from their base layer (never nesting)."""
        first = not self._layout
        new = sorted(path for path in grow if path not in self._layout)
        raised = sorted(f"{path} {self._layout[path]}->{grow[path]}"
                        for path in grow if path in self._layout)
        bases = unwrapped_modules(self._model)
        for path, rank in grow.items():
            wrapper = wrap(bases[path], rank)
            set_module(self._model, path, wrapper)
            self._wrappers[path] = wrapper
            self._layout[path] = rank
        # Fresh modules start in training mode; dropout must stay off.
        self._model.eval()
        if first:
            logger.info("LoRA layout for %s: wrapped %d modules once; switching adapters now "
                        "only swaps arrays", version, len(new))
            return
        reasons = ([f"new modules {_listed(new)}"] if new else []) + (
            [f"rank raised on {_listed(raised)}"] if raised else [])
        logger.info("LoRA re-layout for %s (slower path: re-wraps %d modules and re-pads all %d "
                    "registered adapters) because of %s", version, len(grow),
                    len(self._adapters.keys() | {version}), "; ".join(reasons))
