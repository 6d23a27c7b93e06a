"""Adapter names and the registry's promote/rollback rules."""

from __future__ import annotations

import pytest

from evotr.domain.adapters import AdapterFamily, AdapterRegistry, AdapterVersion
from evotr.domain.errors import AdapterNameError, RegistryRuleError

pytestmark = pytest.mark.unit

TR = AdapterFamily("tr_chat")


def v(name: str) -> AdapterVersion:
    return AdapterVersion.parse(name)


@pytest.mark.parametrize("name", ["tr_chat", "python_coder", "a", "x1_y2"])
def test_valid_family_names(name: str) -> None:
    assert AdapterFamily(name).name == name


@pytest.mark.parametrize("name", ["../x", "tr_chat/../../etc", "Tr_chat", "1abc", "", "a-b", "a b",
                                  "x" * 65, "tr_chat_v2", "adapter_tr_chat_v1"])
def test_invalid_family_names_are_rejected(name: str) -> None:
    with pytest.raises(AdapterNameError):
        AdapterFamily(name)


def test_version_name_round_trips() -> None:
    version = v("python_coder_v12")
    assert (version.family.name, version.number, version.name) == ("python_coder", 12, "python_coder_v12")


@pytest.mark.parametrize("name", ["../x", "tr_chat/../../etc_v1", "tr_chat_v0", "tr_chat_v01",
                                  "tr_chat", "tr_chat_v", "/abs/tr_chat_v1", "tr_chat_v1/..", "TR_v1"])
def test_path_like_or_malformed_versions_are_rejected(name: str) -> None:
    with pytest.raises(AdapterNameError):
        AdapterVersion.parse(name)


def test_unknown_family_serves_base_model() -> None:
    assert AdapterRegistry().active(TR) is None


def test_registering_does_not_activate() -> None:
    registry = AdapterRegistry().register(v("tr_chat_v1"))
    assert registry.active(TR) is None
    assert registry.state(TR).latest == v("tr_chat_v1")


def test_promote_then_newer_promote_moves_active_forward() -> None:
    registry = AdapterRegistry.from_versions([v("tr_chat_v1"), v("tr_chat_v2")])
    registry = registry.promote(v("tr_chat_v1")).promote(v("tr_chat_v2"))
    assert registry.active(TR) == v("tr_chat_v2")
    assert registry.state(TR).history == (1,)


def test_rollback_returns_to_previous_active() -> None:
    registry = AdapterRegistry.from_versions([v("tr_chat_v1"), v("tr_chat_v2")])
    registry = registry.promote(v("tr_chat_v1")).promote(v("tr_chat_v2")).rollback(TR)
    assert registry.active(TR) == v("tr_chat_v1")
    with pytest.raises(RegistryRuleError, match="no earlier"):
        registry.rollback(TR)


def test_cannot_promote_unregistered_or_already_active() -> None:
    registry = AdapterRegistry.from_versions([v("tr_chat_v1")])
    with pytest.raises(RegistryRuleError, match="not registered"):
        registry.promote(v("tr_chat_v3"))
    with pytest.raises(RegistryRuleError, match="already the active"):
        registry.promote(v("tr_chat_v1")).promote(v("tr_chat_v1"))


def test_registering_twice_is_an_error() -> None:
    with pytest.raises(RegistryRuleError, match="already registered"):
        AdapterRegistry.from_versions([v("tr_chat_v1")]).register(v("tr_chat_v1"))


def test_active_version_cannot_be_unregistered() -> None:
    registry = AdapterRegistry.from_versions([v("tr_chat_v1"), v("tr_chat_v2")]).promote(v("tr_chat_v2"))
    with pytest.raises(RegistryRuleError, match="active"):
        registry.unregister(v("tr_chat_v2"))
    assert registry.unregister(v("tr_chat_v1")).state(TR).versions == (2,)


def test_next_version_follows_the_latest() -> None:
    registry = AdapterRegistry.from_versions([v("tr_chat_v1"), v("tr_chat_v4")])
    assert registry.state(TR).next_version == v("tr_chat_v5")
    assert AdapterRegistry().state(TR).next_version == v("tr_chat_v1")


def test_registry_rules_never_mutate_the_original() -> None:
    original = AdapterRegistry.from_versions([v("tr_chat_v1")])
    original.promote(v("tr_chat_v1"))
    assert original.active(TR) is None
