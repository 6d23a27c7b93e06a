"""Use cases that move adapters across tools: import a stock ``mlx_lm lora`` folder as the next
version of a family, export a version as a PEFT LoRA folder (for vLLM, LoRAX, PEFT)."""

from __future__ import annotations

from pathlib import Path

import attrs

from evotr.application.adapters import require_family
from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterFamily, AdapterRegistry, AdapterVersion
from evotr.domain.errors import EvoTrError
from evotr.domain.intent_mapping import IntentMapping
from evotr.ports.adapter_converter import AdapterConverter, LoraSummary, PeftExport
from evotr.ports.adapter_store import AdapterStore

IMPORTED = "imported"
"""``origin.kind`` in the manifest of a version that came from outside evotr."""


class AdapterExportError(EvoTrError):
    """A version cannot be exported (unknown, broken on disk); the message says what to do."""


@attrs.frozen(slots=True)
class ImportOutcome:
    """The version an import became, what it holds, and whether it is now active."""

    version: AdapterVersion
    folder: Path
    summary: LoraSummary
    promoted: bool


def next_version(store: AdapterStore, registry: AdapterRegistry, family: AdapterFamily) -> AdapterVersion:
    """``<family>_v<N+1>`` where N is the highest number on disk or in the registry (0 if none)."""
    known = {v.number for v in store.versions() if v.family == family}
    known |= set(registry.state(family).versions)
    return AdapterVersion(family, max(known, default=0) + 1)


class ImportAdapter:
    """Adds a stock ``python -m mlx_lm lora`` adapter folder as the next version of a family.

    The folder is checked against the base model first (LoRA only, shapes and layers that fit),
    then copied in atomically with a manifest saying where it came from. Like training, the
    first version of a family becomes active; later ones only when ``promote`` is asked.
    """

    def __init__(
        self, mapping: IntentMapping, store: AdapterStore, converter: AdapterConverter, base_model: str
    ) -> None:
        self._mapping = mapping
        self._store = store
        self._converter = converter
        self._base_model = base_model

    def execute(
        self, source: Path | str, family: AdapterFamily | str, *, promote: bool = False
    ) -> ImportOutcome:
        """Check, copy, register (and maybe promote); on any error nothing is stored or changed."""
        target = family if isinstance(family, AdapterFamily) else AdapterFamily(family)
        require_family(self._mapping, target)
        source = Path(source)
        summary = self._converter.check_import(source)
        registry = self._store.load_registry()
        version = next_version(self._store, registry, target)
        first = version.number == 1
        manifest = AdapterManifest(
            version, self._base_model, summary.dataset,
            metrics={"rank": float(summary.rank), "scale": summary.scale,
                     "num_layers": float(summary.num_layers), "modules": float(len(summary.modules))},
            origin={"kind": IMPORTED, "format": "mlx-lm lora", "source": str(source.absolute())},
        )
        folder = self._store.add(version, source, manifest)
        activate = promote or first

        def change(current: AdapterRegistry) -> AdapterRegistry:
            current = current.register(version)
            return current.promote(version) if activate else current

        self._store.update_registry(change)
        return ImportOutcome(version, folder, summary, activate)


class ExportAdapter:
    """Writes a stored version as a PEFT LoRA folder that vLLM (``--enable-lora``), LoRAX and
    PEFT load: ``adapter_config.json`` plus ``adapter_model.safetensors``."""

    def __init__(self, store: AdapterStore, converter: AdapterConverter) -> None:
        self._store = store
        self._converter = converter

    def execute(
        self, version: AdapterVersion | str, out: Path | str, *, base_model: str | None = None
    ) -> PeftExport:
        """Export ``version`` to ``out``; ``base_model`` overrides the manifest's (e.g. the
        transformers id a server loads instead of an MLX conversion of it)."""
        target = version if isinstance(version, AdapterVersion) else AdapterVersion.parse(version)
        known = self._store.versions()
        if target not in known:
            listed = ", ".join(v.name for v in known) or "none"
            raise AdapterExportError(f"cannot export {target}: no such version (stored: {listed}); "
                                     "`evotr adapters list` shows them")
        problems = self._store.problems(target)
        if problems:
            raise AdapterExportError(f"cannot export {target}: {'; '.join(problems)} "
                                     f"({self._store.path(target)})")
        manifest = self._store.manifest(target)
        base = base_model or (manifest.base_model if manifest is not None else "")
        return self._converter.export_peft(self._store.path(target), Path(out), base)
