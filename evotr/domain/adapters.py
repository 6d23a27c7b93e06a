"""Adapter families, versions and the registry of active versions (promote/rollback rules)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from evotr.domain.errors import AdapterNameError, RegistryRuleError

_FAMILY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION_SUFFIX_RE = re.compile(r"_v[0-9]+$")
_VERSION_RE = re.compile(r"^(?P<family>[a-z][a-z0-9_]*)_v(?P<number>[1-9][0-9]*)$")
_MAX_NAME = 64


def _check_family(_inst: object, _attr: object, value: Any) -> None:
    if not isinstance(value, str) or not _FAMILY_RE.fullmatch(value) or len(value) > _MAX_NAME:
        raise AdapterNameError(
            "family", f"{value!r} is not a valid family name (lowercase letters, digits, '_', "
            "starting with a letter, at most 64 characters)"
        )
    if _VERSION_SUFFIX_RE.search(value):
        # A family that looks like a version would let a mapping pin a version again.
        raise AdapterNameError(
            "family", f"{value!r} looks like a version; map intents to a family such as "
            f"{_VERSION_SUFFIX_RE.sub('', value)!r} and let the registry pick the version"
        )


@attrs.frozen(slots=True, order=True)
class AdapterFamily:
    """A line of adapters trained for the same purpose, e.g. ``tr_chat``."""

    name: str = attrs.field(validator=_check_family)

    def __str__(self) -> str:
        return self.name


@attrs.frozen(slots=True, order=True)
class AdapterVersion:
    """One trained adapter: ``<family>_v<N>`` with N >= 1."""

    family: AdapterFamily
    number: int

    def __attrs_post_init__(self) -> None:
        if isinstance(self.number, bool) or not isinstance(self.number, int) or self.number < 1:
            raise AdapterNameError("version", f"version number must be >= 1, got {self.number!r}")

    @property
    def name(self) -> str:
        """The folder and registry name, e.g. ``tr_chat_v2``."""
        return f"{self.family.name}_v{self.number}"

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, name: str) -> AdapterVersion:
        """Parse ``tr_chat_v2``; path-like or malformed names raise AdapterNameError."""
        match = _VERSION_RE.fullmatch(name) if isinstance(name, str) else None
        if match is None or len(name) > _MAX_NAME + 8:
            raise AdapterNameError(
                "version", f"{name!r} is not a valid adapter version name (expected <family>_v<N>, "
                "e.g. tr_chat_v2)"
            )
        return cls(AdapterFamily(match["family"]), int(match["number"]))


@attrs.frozen(slots=True)
class FamilyState:
    """What the registry knows of one family: its versions, the active one, past actives."""

    family: AdapterFamily
    versions: tuple[int, ...] = ()
    active: int | None = None
    history: tuple[int, ...] = ()

    def __attrs_post_init__(self) -> None:
        if tuple(sorted(set(self.versions))) != self.versions:
            raise RegistryRuleError(f"{self.family}: versions must be unique and ascending")
        for number in (self.active, *self.history):
            if number is not None and number not in self.versions:
                raise RegistryRuleError(f"{self.family}: v{number} is not a registered version")

    @property
    def active_version(self) -> AdapterVersion | None:
        """The version served for this family, or None for the base model."""
        return None if self.active is None else AdapterVersion(self.family, self.active)

    @property
    def latest(self) -> AdapterVersion | None:
        """The newest registered version (it may not be the active one)."""
        return AdapterVersion(self.family, self.versions[-1]) if self.versions else None

    @property
    def next_version(self) -> AdapterVersion:
        """The version a new training run of this family gets."""
        return AdapterVersion(self.family, (self.versions[-1] if self.versions else 0) + 1)


def _freeze_families(value: Mapping[str, FamilyState]) -> Mapping[str, FamilyState]:
    return MappingProxyType(dict(sorted(value.items())))


@attrs.frozen(slots=True)
class AdapterRegistry:
    """Immutable registry: every rule returns a new registry and never edits in place."""

    families: Mapping[str, FamilyState] = attrs.field(factory=dict, converter=_freeze_families)

    def __attrs_post_init__(self) -> None:
        for key, state in self.families.items():
            if key != state.family.name:
                raise RegistryRuleError(f"registry key {key!r} holds family {state.family}")

    def state(self, family: AdapterFamily) -> FamilyState:
        """The family's state; a family never seen has no versions and serves the base model."""
        return self.families.get(family.name, FamilyState(family))

    def active(self, family: AdapterFamily) -> AdapterVersion | None:
        """The active version of ``family`` or None (base model)."""
        return self.state(family).active_version

    def register(self, version: AdapterVersion) -> AdapterRegistry:
        """Record a new version; it becomes active only by ``promote``."""
        state = self.state(version.family)
        if version.number in state.versions:
            raise RegistryRuleError(f"{version} is already registered")
        new = attrs.evolve(state, versions=tuple(sorted((*state.versions, version.number))))
        return self._with(new)

    def promote(self, version: AdapterVersion) -> AdapterRegistry:
        """Make ``version`` the family's active one; the previous active can be rolled back to."""
        state = self.state(version.family)
        if version.number not in state.versions:
            raise RegistryRuleError(f"cannot promote {version}: it is not registered")
        if state.active == version.number:
            raise RegistryRuleError(f"{version} is already the active version")
        history = state.history if state.active is None else (*state.history, state.active)
        return self._with(attrs.evolve(state, active=version.number, history=history))

    def rollback(self, family: AdapterFamily) -> AdapterRegistry:
        """Return ``family`` to the version that was active before the last promote."""
        state = self.state(family)
        if not state.history:
            raise RegistryRuleError(f"cannot roll back {family}: no earlier active version")
        *rest, previous = state.history
        return self._with(attrs.evolve(state, active=previous, history=tuple(rest)))

    def unregister(self, version: AdapterVersion) -> AdapterRegistry:
        """Forget a version; the active one cannot be forgotten."""
        state = self.state(version.family)
        if version.number not in state.versions:
            raise RegistryRuleError(f"{version} is not registered")
        if state.active == version.number:
            raise RegistryRuleError(f"{version} is active; promote or roll back first")
        versions = tuple(n for n in state.versions if n != version.number)
        history = tuple(n for n in state.history if n != version.number)
        return self._with(attrs.evolve(state, versions=versions, history=history))

    def _with(self, state: FamilyState) -> AdapterRegistry:
        return AdapterRegistry({**self.families, state.family.name: state})

    @classmethod
    def from_versions(cls, versions: Iterable[AdapterVersion]) -> AdapterRegistry:
        """A registry that knows ``versions`` and has nothing active."""
        registry = cls()
        for version in sorted(versions):
            registry = registry.register(version)
        return registry
