"""Use cases on adapters: list, validate at start-up, resolve for an intent, promote, roll back."""

from __future__ import annotations

import attrs

from evotr.domain.adapters import AdapterFamily, AdapterRegistry, AdapterVersion
from evotr.domain.errors import EvoTrError, RegistryRuleError
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.intents import Intent, to_intent
from evotr.ports.adapter_store import AdapterStore


class AdapterValidationError(EvoTrError):
    """An intent's family points at a missing or incomplete adapter folder."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@attrs.frozen(slots=True)
class FamilyReport:
    """One family as `evotr adapters list` shows it."""

    family: AdapterFamily
    intents: tuple[Intent, ...]
    active: AdapterVersion | None
    versions: tuple[AdapterVersion, ...]
    problems: tuple[str, ...] = ()
    folder: str = ""

    @property
    def located_problems(self) -> list[str]:
        """Each problem of the active version with the folder it was found in."""
        return [f"{p} ({self.folder})" for p in self.problems]

    @property
    def status(self) -> str:
        """A one-line verdict a user can act on."""
        if self.problems:
            return "error: " + "; ".join(self.located_problems)
        if self.active is None:
            return "serving base model (no version promoted)" if self.versions else (
                "serving base model (no version trained yet)")
        newer = [v for v in self.versions if v.number > self.active.number]
        if newer:
            return f"active {self.active}; newer {newer[-1]} not promoted"
        return f"active {self.active}"

    def as_dict(self) -> dict[str, object]:
        """The JSON shape `evotr adapters list --json` prints."""
        return {
            "family": self.family.name,
            "intents": [i.value for i in self.intents],
            "active": None if self.active is None else self.active.name,
            "versions": [v.name for v in self.versions],
            "serves_base_model": self.active is None,
            "problems": self.located_problems,
            "status": self.status,
        }


def require_family(mapping: IntentMapping, family: AdapterFamily) -> None:
    """Refuse a family the intent mapping does not define, listing the ones it does."""
    if family not in mapping.families:
        known = ", ".join(sorted(f.name for f in mapping.families))
        raise RegistryRuleError(f"unknown family {family.name!r}; families in the intent mapping: {known}")


def broken_adapter(intent: Intent, family: AdapterFamily, version: AdapterVersion, problem: str,
                   folder: object) -> str:
    """One line naming the intent, family, version, problem and folder of a broken adapter."""
    return f"intent {intent.value} → family {family} → {version}: {problem} at {folder}"


def _known_versions(store: AdapterStore, registry: AdapterRegistry) -> list[AdapterVersion]:
    registered = {AdapterVersion(s.family, n) for s in registry.families.values() for n in s.versions}
    return sorted(registered | set(store.versions()))


class ListAdapters:
    """Every family in the mapping with its active version, versions and problems."""

    def __init__(self, mapping: IntentMapping, store: AdapterStore) -> None:
        self._mapping = mapping
        self._store = store

    def execute(self) -> list[FamilyReport]:
        """One report per family, sorted by name."""
        registry = self._store.load_registry()
        known = _known_versions(self._store, registry)
        reports = []
        for family in sorted(self._mapping.families):
            active = registry.active(family)
            reports.append(FamilyReport(
                family=family,
                intents=self._mapping.intents_of(family),
                active=active,
                versions=tuple(v for v in known if v.family == family),
                problems=tuple(self._store.problems(active)) if active else (),
                folder=str(self._store.path(active)) if active else "",
            ))
        return reports


class ValidateAdapters:
    """Start-up check: every intent's active adapter must be complete on disk."""

    def __init__(self, mapping: IntentMapping, store: AdapterStore) -> None:
        self._mapping = mapping
        self._store = store

    def execute(self) -> list[FamilyReport]:
        """Return the reports, or raise one error naming each broken intent, family and path."""
        reports = ListAdapters(self._mapping, self._store).execute()
        # The reports already hold each active version's problems: the files are read once.
        errors = [
            broken_adapter(intent, report.family, report.active, problem, report.folder)
            for report in reports if report.active is not None
            for problem in report.problems
            for intent in report.intents
        ]
        if errors:
            raise AdapterValidationError(errors)
        return reports


class ResolveAdapter:
    """The adapter version serving an intent right now (None = base model)."""

    def __init__(self, mapping: IntentMapping, store: AdapterStore) -> None:
        self._mapping = mapping
        self._store = store

    def execute(self, intent: Intent | str) -> AdapterVersion | None:
        """Read the registry each time, so a promotion takes effect at once."""
        return self._store.load_registry().active(self._mapping.family_for(to_intent(intent)))


class PromoteAdapter:
    """Make a version active; a complete folder not yet registered is registered first."""

    def __init__(self, mapping: IntentMapping, store: AdapterStore) -> None:
        self._mapping = mapping
        self._store = store

    def execute(self, version: AdapterVersion | str) -> AdapterRegistry:
        """Promote and save the registry atomically; broken folders are refused."""
        target = version if isinstance(version, AdapterVersion) else AdapterVersion.parse(version)
        require_family(self._mapping, target.family)
        problems = "; ".join(self._store.problems(target))
        if problems:
            where = str(self._store.path(target))
            raise RegistryRuleError(
                f"cannot promote {target}: {problems}" + ("" if where in problems else f" ({where})")
            )
        def change(registry: AdapterRegistry) -> AdapterRegistry:
            if target.number not in registry.state(target.family).versions:
                registry = registry.register(target)
            return registry.promote(target)

        return self._store.update_registry(change)


class RollbackAdapter:
    """Return a family to the version active before its last promotion."""

    def __init__(self, mapping: IntentMapping, store: AdapterStore) -> None:
        self._mapping = mapping
        self._store = store

    def execute(self, family: AdapterFamily | str) -> AdapterRegistry:
        """Roll back and save the registry atomically."""
        target = family if isinstance(family, AdapterFamily) else AdapterFamily(family)
        require_family(self._mapping, target)
        return self._store.update_registry(lambda registry: registry.rollback(target))
