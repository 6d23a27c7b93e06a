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


def _freeze_text(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType({str(k): str(v) for k, v in value.items()})


def _freeze_json(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType({str(k): v for k, v in value.items()})


@attrs.frozen(slots=True)
class AdapterManifest:
    """Where an adapter came from and how good it was when trained."""

    version: AdapterVersion
    base_model: str = attrs.field(validator=non_empty_text)
    dataset: str = ""
    metrics: Mapping[str, float | None] = attrs.field(factory=dict, converter=_freeze)
    created_at: datetime = attrs.field(factory=lambda: datetime.now(UTC), validator=aware_datetime)
    # Empty for versions evotr trained; an import says where the files came from
    # ({"kind": "imported", "source": <folder>, ...}) so a user can trace a version back.
    origin: Mapping[str, str] = attrs.field(factory=dict, converter=_freeze_text)
    # For versions `evotr train` made: the whole config, preset, loss curve and the fingerprints
    # of the base model and dataset (JSON values), so a run can be understood and repeated.
    training: Mapping[str, object] = attrs.field(factory=dict, converter=_freeze_json)

    def to_json(self) -> dict[str, object]:
        """The manifest.json document (``origin`` only when there is one)."""
        document: dict[str, object] = {
            "family": self.version.family.name,
            "version": self.version.name,
            "base_model": self.base_model,
            "dataset": self.dataset,
            "metrics": dict(self.metrics),
            "created_at": self.created_at.isoformat(),
        }
        if self.origin:
            document["origin"] = dict(self.origin)
        if self.training:
            document["training"] = dict(self.training)
        return document
