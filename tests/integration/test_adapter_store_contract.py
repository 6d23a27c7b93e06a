"""The AdapterStore contract, on the filesystem store and on the in-memory store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterFamily, AdapterRegistry, AdapterVersion
from evotr.infrastructure.filesystem.adapter_store import FilesystemAdapterStore
from evotr.infrastructure.filesystem.errors import AdapterStoreError, RegistryMissingError
from evotr.infrastructure.memory.adapter_store import InMemoryAdapterStore
from evotr.ports.adapter_store import AdapterStore
from tests.adapter_fixtures import write_fake_mlx_adapter

pytestmark = pytest.mark.integration

CHAT = AdapterFamily("tr_chat")
CODE = AdapterFamily("code_python")
ISTANBUL = timezone(timedelta(hours=3))
# Both stores also offer update_registry (load + change + save under one lock), beyond the port.
Store = FilesystemAdapterStore | InMemoryAdapterStore


def v(name: str) -> AdapterVersion:
    return AdapterVersion.parse(name)


def manifest_for(version: AdapterVersion, **metrics: float | None) -> AdapterManifest:
    return AdapterManifest(
        version, base_model="Qwen/Qwen2.5-0.5B-Instruct", dataset="data/training/tr_chat.jsonl",
        metrics=metrics, created_at=datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=ISTANBUL),
    )


@pytest.fixture(params=["filesystem", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "filesystem":
        yield FilesystemAdapterStore(tmp_path / "adapters")
    else:
        yield InMemoryAdapterStore()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_fake_mlx_adapter(tmp_path / "run", checkpoint=True)


def test_satisfies_the_port(store: Store) -> None:
    assert isinstance(store, AdapterStore)


def test_a_fresh_store_has_an_empty_registry_and_no_versions(store: Store) -> None:
    assert store.load_registry() == AdapterRegistry()
    assert list(store.versions()) == []
    store.initialize()
    store.initialize()  # idempotent
    assert store.load_registry() == AdapterRegistry()
    assert list(store.versions()) == []


def test_add_stores_versions_sorted_under_their_path(store: Store, source: Path) -> None:
    store.initialize()
    for name in ("tr_chat_v2", "code_python_v1", "tr_chat_v1", "tr_chat_v10"):
        folder = store.add(v(name), source, manifest_for(v(name)))
        assert folder == store.path(v(name))
        assert folder.name == name
    assert list(store.versions()) == sorted(
        [v("code_python_v1"), v("tr_chat_v1"), v("tr_chat_v2"), v("tr_chat_v10")]
    )
    assert [x.number for x in store.versions() if x.family == CHAT] == [1, 2, 10]


def test_add_does_not_change_the_registry(store: Store, source: Path) -> None:
    store.initialize()
    store.add(v("tr_chat_v1"), source, manifest_for(v("tr_chat_v1")))
    assert store.load_registry() == AdapterRegistry()


def test_registry_round_trips_with_history_after_promote_and_rollback(store: Store) -> None:
    store.initialize()
    registry = AdapterRegistry.from_versions([v("tr_chat_v1"), v("tr_chat_v2"), v("tr_chat_v3"),
                                              v("code_python_v1")])
    registry = registry.promote(v("tr_chat_v1")).promote(v("tr_chat_v2")).promote(v("tr_chat_v3"))
    registry = registry.rollback(CHAT)
    store.save_registry(registry)

    loaded = store.load_registry()
    assert loaded == registry
    assert loaded.active(CHAT) == v("tr_chat_v2")
    assert loaded.state(CHAT).history == (1,)
    assert loaded.state(CHAT).versions == (1, 2, 3)
    assert loaded.active(CODE) is None
    # The loaded registry keeps working with the domain rules.
    assert loaded.rollback(CHAT).active(CHAT) == v("tr_chat_v1")


def test_save_replaces_the_previous_registry(store: Store) -> None:
    store.save_registry(AdapterRegistry.from_versions([v("tr_chat_v1")]))
    store.save_registry(AdapterRegistry.from_versions([v("code_python_v1")]))
    assert list(store.load_registry().families) == ["code_python"]


def test_update_registry_applies_the_change_and_saves_it(store: Store) -> None:
    saved = store.update_registry(lambda r: r.register(v("tr_chat_v1")).promote(v("tr_chat_v1")))
    assert store.load_registry() == saved
    assert saved.active(CHAT) == v("tr_chat_v1")


def test_concurrent_updates_lose_nothing(store: Store) -> None:
    store.initialize()
    threads = [
        threading.Thread(target=store.update_registry, args=(lambda r, n=n: r.register(v(f"tr_chat_v{n}")),))
        for n in range(1, 9)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.load_registry().state(CHAT).versions == tuple(range(1, 9))


def test_problems_is_empty_for_a_good_version(store: Store, source: Path) -> None:
    store.add(v("tr_chat_v1"), source, manifest_for(v("tr_chat_v1")))
    assert store.problems(v("tr_chat_v1")) == []


def test_problems_of_an_unknown_version_are_reported(store: Store) -> None:
    problems = store.problems(v("tr_chat_v7"))
    assert len(problems) == 1
    assert "missing" in problems[0] or problems[0] == "not stored"


def test_manifest_round_trips(store: Store, source: Path) -> None:
    written = manifest_for(v("tr_chat_v1"), loss=1.25, val_loss=1.5, turkish_ratio=None)
    store.add(v("tr_chat_v1"), source, written)
    read = store.manifest(v("tr_chat_v1"))
    assert read == written
    assert read is not None
    assert read.created_at.utcoffset() == timedelta(hours=3)
    assert read.created_at == datetime(2025, 3, 14, 6, 26, 53, 589000, tzinfo=UTC)
    assert dict(read.metrics) == {"loss": 1.25, "val_loss": 1.5, "turkish_ratio": None}
    assert read.dataset == "data/training/tr_chat.jsonl"


def test_manifest_of_an_unknown_version_is_none(store: Store) -> None:
    assert store.manifest(v("tr_chat_v1")) is None


def test_add_refuses_an_existing_version(store: Store, source: Path, tmp_path: Path) -> None:
    first = manifest_for(v("tr_chat_v1"), loss=1.0)
    store.add(v("tr_chat_v1"), source, first)
    other = write_fake_mlx_adapter(tmp_path / "other", seed=5)
    with pytest.raises(AdapterStoreError, match="tr_chat_v1 already exists"):
        store.add(v("tr_chat_v1"), other, manifest_for(v("tr_chat_v1"), loss=0.5))
    assert store.manifest(v("tr_chat_v1")) == first
    assert list(store.versions()) == [v("tr_chat_v1")]


@pytest.mark.parametrize("missing", ["adapters.safetensors", "adapter_config.json"])
def test_add_refuses_missing_source_files_naming_them(
    store: Store, source: Path, missing: str
) -> None:
    (source / missing).unlink()
    with pytest.raises(AdapterStoreError, match=missing.replace(".", r"\.")) as caught:
        store.add(v("tr_chat_v1"), source, manifest_for(v("tr_chat_v1")))
    assert str(source) in str(caught.value)
    assert list(store.versions()) == []
    assert store.manifest(v("tr_chat_v1")) is None


def test_add_refuses_a_missing_source_folder(store: Store, tmp_path: Path) -> None:
    with pytest.raises(AdapterStoreError, match=r"adapter_config\.json, adapters\.safetensors"):
        store.add(v("tr_chat_v1"), tmp_path / "nowhere", manifest_for(v("tr_chat_v1")))
    assert list(store.versions()) == []


def test_add_refuses_a_corrupt_source(store: Store, source: Path) -> None:
    weights = source / "adapters.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(AdapterStoreError, match="truncated"):
        store.add(v("tr_chat_v1"), source, manifest_for(v("tr_chat_v1")))
    assert list(store.versions()) == []


def test_add_refuses_a_manifest_for_another_version(store: Store, source: Path) -> None:
    with pytest.raises(AdapterStoreError, match="manifest is for tr_chat_v2"):
        store.add(v("tr_chat_v1"), source, manifest_for(v("tr_chat_v2")))
    assert list(store.versions()) == []


def forget_registry(store: Store) -> None:
    """What a user deleting registry.json does."""
    if isinstance(store, FilesystemAdapterStore):
        store.registry_file.unlink()
    else:
        store.delete_registry()


def test_a_lost_registry_beside_stored_versions_is_refused_never_emptied(store: Store, source: Path) -> None:
    one, two = v("tr_chat_v1"), v("tr_chat_v2")
    store.initialize()
    store.add(one, source, manifest_for(one))
    store.update_registry(lambda r: r.register(one).promote(one))
    forget_registry(store)
    calls = [store.load_registry, store.initialize, lambda: store.update_registry(lambda r: r),
             lambda: store.add(two, source, manifest_for(two))]
    for call in calls:
        with pytest.raises(RegistryMissingError, match="holds adapter version\\(s\\) tr_chat_v1;"):
            call()
    assert list(store.versions()) == [one]
    store.create_registry(AdapterRegistry.from_versions([one]).promote(one))
    assert store.load_registry().active(CHAT) == one
    with pytest.raises(AdapterStoreError, match="already exists, so nothing was rebuilt"):
        store.create_registry(AdapterRegistry())
    assert store.load_registry().active(CHAT) == one


def test_the_first_add_to_a_store_never_initialised_keeps_it_usable(store: Store, source: Path) -> None:
    store.add(v("tr_chat_v1"), source, manifest_for(v("tr_chat_v1")))
    assert store.update_registry(lambda r: r.register(v("tr_chat_v1"))).state(CHAT).versions == (1,)


def test_training_config_is_mlx_lms_adapter_config(store: Store, source: Path) -> None:
    assert store.training_config(v("tr_chat_v1")) is None
    store.add(v("tr_chat_v1"), source, manifest_for(v("tr_chat_v1")))
    config = store.training_config(v("tr_chat_v1"))
    assert config is not None and config["fine_tune_type"] == "lora"
    assert config["lora_parameters"] == {"rank": 4, "dropout": 0.0, "scale": 20.0}
    assert store.loss_curve(v("tr_chat_v1")) is None  # add() copies no loss.png
