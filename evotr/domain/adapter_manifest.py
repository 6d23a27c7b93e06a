"""The manifest.json kept beside each adapter's mlx-lm files."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType

import attrs

from evotr.domain.adapters import AdapterVersion
from evotr.domain.validation import aware_datetime, non_empty_text

REQUIRED_ADAPTER_FILES: tuple[str, ...] = ("adapter_config.json", "adapters.safetensors")
MANIFEST_FILE = "manifest.json"


def _freeze(value: Mapping[str, float | None]) -> Mapping[str, float | None]:
    return MappingProxyType({str(k): v for k, v in value.items()})


@attrs.frozen(slots=True)
class AdapterManifest:
    """Where an adapter came from and how good it was when trained."""

    version: AdapterVersion
    base_model: str = attrs.field(validator=non_empty_text)
    dataset: str = ""
    metrics: Mapping[str, float | None] = attrs.field(factory=dict, converter=_freeze)
    created_at: datetime = attrs.field(factory=lambda: datetime.now(UTC), validator=aware_datetime)

    def to_json(self) -> dict[str, object]:
        """The manifest.json document."""
        return {
            "family": self.version.family.name,
            "version": self.version.name,
            "base_model": self.base_model,
            "dataset": self.dataset,
            "metrics": dict(self.metrics),
            "created_at": self.created_at.isoformat(),
        }
