"""Per-request LoRA hot-swap on one resident model: a switch is only module assignment.

Each registered adapter gets its own LoRA wrappers (``lora_modules``), built and evaluated at
registration around the model's ORIGINAL modules, which all adapters share. Every module path
that some adapter wraps is a *slot* (its parent and key in the model). Activating an adapter
puts, in each slot, that adapter's wrapper or, where it has none, the original module;
activating ``None`` (the base model) puts every original module back, so the base model runs
no LoRA code at all: its forward pass is the plain model's, bit for bit, at its speed.

Nothing is computed on a switch: it is one dictionary store per slot (well under 1 ms for the
56 slots of an 8-block adapter). Registering an adapter never touches the others' wrappers.
Not thread-safe by itself: the backend serialises calls with its lock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from evotr.application.errors import AdapterNotRegisteredError
from evotr.domain.adapters import AdapterVersion
from evotr.infrastructure.mlx.adapter_folder import AdapterFolder
from evotr.infrastructure.mlx.errors import AdapterLoadError
from evotr.infrastructure.mlx.lora_layout import fit_problems, unwrapped_modules
from evotr.infrastructure.mlx.lora_modules import SHARED_INPUT, build_wrappers

logger = logging.getLogger("evotr.mlx")

# (parent, key, module): ``parent[key] = module`` puts ``module`` in the model. ``parent`` is a
# Module (a dict: the store is what setattr does for a module) or a list (key: its index).
_Store = tuple[Any, Any, Any]
_MAX_LISTED = 6


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" (+{len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")


def _slot(model: Any, path: str) -> tuple[Any, Any]:
    """The parent container of dotted ``path`` and the key of the module in it."""
    parent_path, _, key = path.rpartition(".")
    parent = model
    for part in parent_path.split(".") if parent_path else []:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    return parent, int(key) if isinstance(parent, list) else key


class LoraSwap:
    """Registered adapters of one model and the switch between them (``None`` = base model).

    ``shared_input`` names the sibling projections that share one low-rank product and
    ``fused_add`` says whether the term is added by ``addmm`` (None: the device's default; see
    ``lora_modules``); the defaults are the measured choices.
    """

    def __init__(self, model: Any, dtype: Any,
                 shared_input: tuple[tuple[str, ...], ...] = SHARED_INPUT,
                 fused_add: bool | None = None) -> None:
        self._model = model
        self._dtype = dtype
        self._shared_input = shared_input
        self._fused_add = fused_add
        # path -> (parent, key, original module); the original is also every wrapper's .linear.
        self._slots: dict[str, _Store] = {}
        self._wrappers: dict[AdapterVersion, dict[str, Any]] = {}
        self._ranks: dict[AdapterVersion, int] = {}
        self._plans: dict[AdapterVersion | None, list[_Store]] = {None: []}
        # Invariant: every slot holds what the plan of _active puts there.
        self._active: AdapterVersion | None = None

    @property
    def registered(self) -> list[AdapterVersion]:
        """Registered versions in registration order."""
        return list(self._wrappers)

    @property
    def active(self) -> AdapterVersion | None:
        """The adapter the model currently computes with (None: base model)."""
        return self._active

    @property
    def layout(self) -> dict[str, int]:
        """Module path some adapter wraps -> the largest rank any adapter uses there."""
        out: dict[str, int] = {}
        for version, wrappers in self._wrappers.items():
            for path in wrappers:
                out[path] = max(out.get(path, 0), self._ranks[version])
        return out

    def originals(self) -> dict[str, Any]:
        """Slot path -> the original module the base model computes with there."""
        return {path: module for path, (_parent, _key, module) in self._slots.items()}

    def add(self, folder: AdapterFolder) -> None:
        """Register (or replace) ``folder``'s adapter; AdapterLoadError leaves everything as it was."""
        problems = fit_problems(self._model, folder)
        if problems:
            raise AdapterLoadError(folder.version, folder.path,
                                   f"it does not fit the base model: {_listed(problems)}")
        arrays = {path: (a.astype(self._dtype), b.astype(self._dtype))
                  for path, (a, b) in folder.modules.items()}
        bases = unwrapped_modules(self._model)
        try:
            wrappers = build_wrappers({path: bases[path] for path in arrays}, arrays, folder.scale,
                                      folder.rank, self._shared_input, self._fused_add)
        except ValueError as exc:  # fit_problems probes the same conversions; kept as a guard
            raise AdapterLoadError(folder.version, folder.path, str(exc)) from exc
        # Nothing below can fail: the registration is all or nothing.
        new = sorted(path for path in wrappers if path not in self._slots)
        for path in new:
            self._slots[path] = (*_slot(self._model, path), bases[path])
        self._wrappers[folder.version] = wrappers
        self._ranks[folder.version] = folder.rank
        self._plans = {None: self._plan({})}
        self._plans.update((v, self._plan(w)) for v, w in self._wrappers.items())
        if folder.version == self._active:
            self._apply(self._active)  # replaced while active: its new wrappers go in now
        logger.info("adapter %s: %d LoRA modules built (%d new slots, %d in all); switching only "
                    "reassigns modules", folder.version, len(wrappers), len(new), len(self._slots))

    def activate(self, version: AdapterVersion | None) -> None:
        """Make the model compute with ``version``; a no-op if it already does."""
        if version == self._active:
            return
        if version not in self._plans:
            raise AdapterNotRegisteredError(version, self.registered)
        self._apply(version)

    def _apply(self, version: AdapterVersion | None) -> None:
        for parent, key, module in self._plans[version]:
            parent[key] = module
        self._active = version

    def _plan(self, wrappers: dict[str, Any]) -> list[_Store]:
        """What every slot holds under an adapter with ``wrappers`` (its original where none)."""
        return [(parent, key, wrappers.get(path, original))
                for path, (parent, key, original) in self._slots.items()]
