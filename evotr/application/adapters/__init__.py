"""Use cases on adapters: list, validate at start-up, resolve for an intent, promote, roll back,
and rebuild a lost registry from the version folders."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from evotr.domain.adapter_history import HistoryEvent
from evotr.domain.adapters import AdapterFamily, AdapterRegistry, AdapterVersion
from evotr.domain.errors import EvoTrError, RegistryRuleError
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.intents import Intent, to_intent
from evotr.ports.adapter_history import AdapterHistory
from evotr.ports.adapter_store import AdapterStore


class AdapterValidationError(EvoTrError):
    """An intent's family points at a missing or incomplete adapter folder.

    ``problems`` holds one line per broken version (the CLI prints one ``error:`` line each).
    """

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
    # The active version's manifest metrics (start/final val loss, improvement %, ...).
    metrics: Mapping[str, float | None] = attrs.field(factory=dict)

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
            "metrics": dict(self.metrics),
        }


def require_family(mapping: IntentMapping, family: AdapterFamily) -> None:
    """Refuse a family the intent mapping does not define, listing the ones it does."""
    if family not in mapping.families:
        known = ", ".join(sorted(f.name for f in mapping.families))
        raise RegistryRuleError(f"unknown family {family.name!r}; families in the intent mapping: {known}")


def broken_version(family: AdapterFamily, version: AdapterVersion, intents: tuple[Intent, ...],
                   problems: list[str] | tuple[str, ...], folder: object) -> str:
    """One line for a broken active version: the intents it serves, every problem, the folder, a fix.

    A version serves all intents of its family, so it is one problem, not one per intent.
    """
    what = "; ".join(problems)
    where = "" if str(folder) in what else f" at {folder}"
    served = ", ".join(i.value for i in intents)
    return (f"family {family} → {version} (intents {served}): {what}{where}; restore that folder, or "
            f"make a complete version active with `evotr adapters promote {family}_vN`")


def _unusable(store: AdapterStore, version: AdapterVersion) -> str:
    """The version's problems with its folder, or "" when it can be served."""
    problems = "; ".join(store.problems(version))
    if not problems:
        return ""
    where = str(store.path(version))
    return problems + ("" if where in problems else f" ({where})")


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
                metrics=self._metrics(active),
            ))
        return reports

    def _metrics(self, active: AdapterVersion | None) -> Mapping[str, float | None]:
        try:
            manifest = self._store.manifest(active) if active is not None else None
        except EvoTrError:
            return {}  # a corrupt manifest is already one of the version's problems
        return {} if manifest is None else dict(manifest.metrics)


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
            broken_version(report.family, report.active, report.intents, report.problems, report.folder)
            for report in reports if report.active is not None and report.problems
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


def _record(history: AdapterHistory | None, event: str, family: AdapterFamily,
            before: AdapterVersion | None, after: AdapterVersion | None) -> None:
    """Append a promotion or rollback to the adapter history (when one is kept)."""
    if history is not None:
        history.append(HistoryEvent(event, family, {"from": None if before is None else before.name,
                                                    "to": None if after is None else after.name}))


class PromoteAdapter:
    """Make a version active; a complete folder not yet registered is registered first."""

    def __init__(self, mapping: IntentMapping, store: AdapterStore,
                 history: AdapterHistory | None = None) -> None:
        self._mapping = mapping
        self._store = store
        self._history = history

    def execute(self, version: AdapterVersion | str) -> AdapterRegistry:
        """Promote and save the registry atomically; broken folders are refused."""
        target = version if isinstance(version, AdapterVersion) else AdapterVersion.parse(version)
        require_family(self._mapping, target.family)
        problems = _unusable(self._store, target)
        if problems:
            raise RegistryRuleError(f"cannot promote {target}: {problems}")

        before: list[AdapterVersion | None] = []

        def change(registry: AdapterRegistry) -> AdapterRegistry:
            before.append(registry.active(target.family))
            if target.number not in registry.state(target.family).versions:
                registry = registry.register(target)
            return registry.promote(target)

        updated = self._store.update_registry(change)
        _record(self._history, "promote", target.family, before[-1], target)
        return updated


class RollbackAdapter:
    """Return a family to the version active before its last promotion."""

    def __init__(self, mapping: IntentMapping, store: AdapterStore,
                 history: AdapterHistory | None = None) -> None:
        self._mapping = mapping
        self._store = store
        self._history = history

    def execute(self, family: AdapterFamily | str) -> AdapterRegistry:
        """Roll back and save the registry atomically; a broken earlier version is refused, like promote."""
        target = family if isinstance(family, AdapterFamily) else AdapterFamily(family)
        require_family(self._mapping, target)

        before: list[AdapterVersion | None] = []

        def change(registry: AdapterRegistry) -> AdapterRegistry:
            before.append(registry.active(target))
            rolled = registry.rollback(target)
            previous = rolled.active(target)
            # Checked under the registry lock, so the version judged is the one made active.
            problems = "" if previous is None else _unusable(self._store, previous)
            if problems:
                raise RegistryRuleError(
                    f"cannot roll back {target} to {previous}: {problems}; {registry.active(target)} stays "
                    f"active. Restore that folder, or make a complete version active with "
                    f"`evotr adapters promote {target}_vN`"
                )
            return rolled

        updated = self._store.update_registry(change)
        _record(self._history, "rollback", target, before[-1], updated.active(target))
        return updated


@attrs.frozen(slots=True)
class RebuiltFamily:
    """What a registry rebuild did for one family."""

    family: AdapterFamily
    registered: tuple[AdapterVersion, ...]
    active: AdapterVersion | None
    skipped: tuple[tuple[AdapterVersion, str], ...] = ()

    def lines(self) -> list[str]:
        """What to tell the user, one line per fact."""
        if self.active is None:
            said = [f"{self.family}: no complete version; it serves the base model"]
        else:
            others = [v.name for v in self.registered if v != self.active]
            said = [f"{self.family}: made {self.active} active (the newest complete version)"
                    + (f"; also registered {', '.join(others)}" if others else "")]
        return said + [f"{self.family}: skipped {v} ({problem})" for v, problem in self.skipped]


class RebuildRegistry:
    """Write a lost registry again from the version folders and their manifests.

    Which version was active, and the rollback history, lived only in the lost registry: the
    newest complete version of each family becomes active, and the report says so, so the
    user can promote another. Incomplete versions are left out. An existing registry is never
    replaced.
    """

    def __init__(self, store: AdapterStore) -> None:
        self._store = store

    def execute(self) -> list[RebuiltFamily]:
        """Rebuild and store the registry; one entry per family found on disk, sorted."""
        by_family: dict[AdapterFamily, list[AdapterVersion]] = {}
        for version in self._store.versions():
            by_family.setdefault(version.family, []).append(version)
        registry = AdapterRegistry()
        rebuilt = []
        for family, versions in sorted(by_family.items()):
            complete, skipped = [], []
            for version in sorted(versions):
                problems = _unusable(self._store, version)
                if problems:
                    skipped.append((version, problems))
                else:
                    complete.append(version)
                    registry = registry.register(version)
            active = complete[-1] if complete else None
            if active is not None:
                registry = registry.promote(active)
            rebuilt.append(RebuiltFamily(family, tuple(complete), active, tuple(skipped)))
        self._store.create_registry(registry)
        return rebuilt
