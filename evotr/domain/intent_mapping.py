"""THE single mapping from intent to adapter family (loaded from configs/intents.yaml)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs

from evotr.domain.adapters import AdapterFamily
from evotr.domain.errors import DomainValidationError
from evotr.domain.intents import ALL_INTENTS, Intent


def _freeze(value: Mapping[Intent, object]) -> Mapping[Intent, object]:
    return MappingProxyType(dict(value))


def _families(value: Iterable[AdapterFamily]) -> frozenset[AdapterFamily]:
    return frozenset(value)


@attrs.frozen(slots=True)
class IntentMapping:
    """Intent → family plus each intent's example messages.

    Every intent must be mapped, and only to a family the file defines; a version can't be
    named here (family names may not end in ``_v<N>``), so the registry alone picks versions.
    """

    families: frozenset[AdapterFamily] = attrs.field(converter=_families)
    routes: Mapping[Intent, AdapterFamily] = attrs.field(converter=_freeze)
    examples: Mapping[Intent, tuple[str, ...]] = attrs.field(factory=dict, converter=_freeze)

    def __attrs_post_init__(self) -> None:
        defined = ", ".join(sorted(f.name for f in self.families)) or "(none)"
        for intent in ALL_INTENTS:
            if intent not in self.routes:
                raise DomainValidationError(f"intents.{intent.value}", "intent is not mapped to a family")
            family = self.routes[intent]
            if family not in self.families:
                raise DomainValidationError(
                    f"intents.{intent.value}.family",
                    f"unknown family {family.name!r}; families defined: {defined}",
                )
        for intent, texts in self.examples.items():
            for n, text in enumerate(texts):
                if not isinstance(text, str) or not text.strip():
                    raise DomainValidationError(
                        f"intents.{intent.value}.examples[{n}]", "example must be non-empty text"
                    )

    def family_for(self, intent: Intent) -> AdapterFamily:
        """The family that serves ``intent``."""
        return self.routes[intent]

    def intents_of(self, family: AdapterFamily) -> tuple[Intent, ...]:
        """The intents a family serves, in declaration order."""
        return tuple(i for i in ALL_INTENTS if self.routes[i] == family)
