"""Which adapter serves a message: routed (auto), the base model (none), a forced family or a version."""

from __future__ import annotations

import attrs

from evotr.application.adapters import AdapterValidationError, broken_version, require_family
from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.domain.intent_mapping import IntentMapping
from evotr.ports.adapter_store import AdapterStore


@attrs.frozen(slots=True)
class AdapterChoice:
    """``auto`` (routed), ``none`` (base model), a family forced for every message, or one version.

    A ``version`` (mode ``version``, the HTTP API's ``evotr:tr_chat_v2``) pins that exact version
    instead of the family's active one.
    """

    mode: str = "auto"
    family: AdapterFamily | None = None
    version: AdapterVersion | None = None

    @classmethod
    def parse(cls, value: str) -> AdapterChoice:
        """``auto``, ``none`` or a family name such as ``tr_chat``."""
        if value in ("auto", "none"):
            return cls(value)
        return cls("family", AdapterFamily(value))

    @classmethod
    def pinned(cls, version: AdapterVersion) -> AdapterChoice:
        """Serve exactly ``version`` (checked by the caller against the registry)."""
        return cls("version", version.family, version)

    def __str__(self) -> str:
        if self.version is not None:
            return self.version.name
        return self.family.name if self.family else self.mode


class ChooseAdapter:
    """Checks an adapter choice when it is made, not on the next message.

    ``auto`` and ``none`` always work; a forced family must be in the intent mapping and its
    active version (if any) complete on disk — otherwise every later message would fail.
    """

    def __init__(self, mapping: IntentMapping, store: AdapterStore) -> None:
        self._mapping = mapping
        self._store = store

    def execute(self, value: str) -> AdapterChoice:
        """Parse and validate ``value``; AdapterChoice or a one-line EvoTrError."""
        choice = AdapterChoice.parse(value)
        if choice.family is None:
            return choice
        require_family(self._mapping, choice.family)
        version = self._store.load_registry().active(choice.family)
        if version is not None:
            require_usable(self._mapping, self._store, version)
        return choice


def require_usable(mapping: IntentMapping, store: AdapterStore, version: AdapterVersion) -> None:
    """Refuse a version whose folder is missing or incomplete: one line, listing its intents."""
    problems = store.problems(version)
    if problems:
        intents = mapping.intents_of(version.family)
        raise AdapterValidationError([broken_version(version.family, version, intents, problems,
                                                     store.path(version))])
