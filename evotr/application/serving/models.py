"""The API's model names: ``evotr`` (routed), ``evotr:none``, ``evotr:<family>``, ``evotr:<version>``.

mlx_lm.server lists the hub cache and reloads the model to change adapters; here every name is
an adapter choice on the one resident model, so switching costs an in-memory swap.
"""

from __future__ import annotations

import attrs

from evotr.application.adapters import ListAdapters
from evotr.application.chat import AdapterChoice, require_usable
from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.domain.errors import AdapterNameError, EvoTrError
from evotr.domain.intent_mapping import IntentMapping
from evotr.ports.adapter_store import AdapterStore

PREFIX = "evotr"


class UnknownModelError(EvoTrError, LookupError):
    """A model name that names no routing mode, family or registered version."""

    def __init__(self, name: object, known: list[str]) -> None:
        shown = repr(name) if isinstance(name, str) and len(name) <= 80 else "that name"
        super().__init__(f"model {shown} does not exist; models: {', '.join(known)}")


@attrs.frozen(slots=True)
class ServedModel:
    """One entry of ``/v1/models``: its id and the choice it stands for."""

    id: str
    kind: str  # "routed", "base", "family" or "version"
    family: str | None = None
    active: str | None = None  # a family's active version (None: it serves the base model)

    def as_dict(self) -> dict[str, object]:
        """The OpenAI model object with our details under ``evotr``."""
        return {"id": self.id, "object": "model", "created": 0, "owned_by": "evotr",
                "evotr": {"kind": self.kind, "family": self.family, "active": self.active}}


class ListModels:
    """Every model name the API accepts, in a stable order: routed, base, families, versions."""

    def __init__(self, list_adapters: ListAdapters) -> None:
        self._list_adapters = list_adapters

    def execute(self) -> list[ServedModel]:
        """Read the registry now, so a promotion shows at once."""
        models = [ServedModel(PREFIX, "routed"), ServedModel(f"{PREFIX}:none", "base")]
        versions = []
        for report in self._list_adapters.execute():
            family = report.family.name
            active = None if report.active is None else report.active.name
            models.append(ServedModel(f"{PREFIX}:{family}", "family", family, active))
            versions += [ServedModel(f"{PREFIX}:{v.name}", "version", family, active)
                         for v in report.versions]
        return models + versions


class ResolveModel:
    """A model name → the adapter choice it means; unknown names list the valid ones."""

    def __init__(self, mapping: IntentMapping, store: AdapterStore, list_models: ListModels) -> None:
        self._mapping = mapping
        self._store = store
        self._list_models = list_models

    def execute(self, name: str) -> AdapterChoice:
        """UnknownModelError for a name that is not served; AdapterValidationError for a broken folder."""
        if name in (PREFIX, f"{PREFIX}:auto"):
            return AdapterChoice("auto")
        if name == f"{PREFIX}:none":
            return AdapterChoice("none")
        rest = name.removeprefix(f"{PREFIX}:") if isinstance(name, str) else ""
        if rest == name or not rest:
            raise self._unknown(name)
        try:
            version = AdapterVersion.parse(rest)
        except AdapterNameError:
            return self._family(name, rest)
        registry = self._store.load_registry()
        if version.family not in self._mapping.families or \
                version.number not in registry.state(version.family).versions:
            raise self._unknown(name)
        require_usable(self._mapping, self._store, version)
        return AdapterChoice.pinned(version)

    def _family(self, name: str, rest: str) -> AdapterChoice:
        try:
            family = AdapterFamily(rest)
        except AdapterNameError:
            raise self._unknown(name) from None
        if family not in self._mapping.families:
            raise self._unknown(name)
        active = self._store.load_registry().active(family)
        if active is not None:
            require_usable(self._mapping, self._store, active)
        return AdapterChoice("family", family)

    def _unknown(self, name: str) -> UnknownModelError:
        return UnknownModelError(name, [m.id for m in self._list_models.execute()])
