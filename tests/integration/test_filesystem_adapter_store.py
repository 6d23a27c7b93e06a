"""FilesystemAdapterStore on a real folder: atomic registry, strict parsing, file checks, mlx-lm."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterFamily, AdapterRegistry, AdapterVersion
from evotr.infrastructure.filesystem.adapter_store import FilesystemAdapterStore
from evotr.infrastructure.filesystem.errors import AdapterStoreError
from tests.adapter_fixtures import write_fake_mlx_adapter

pytestmark = pytest.mark.integration

CHAT = AdapterFamily("tr_chat")
V1 = AdapterVersion.parse("tr_chat_v1")
V2 = AdapterVersion.parse("tr_chat_v2")


@pytest.fixture
def store(tmp_path: Path) -> FilesystemAdapterStore:
    return FilesystemAdapterStore(tmp_path / "adapters")


@pytest.fixture
def added(store: FilesystemAdapterStore, tmp_path: Path) -> Path:
    """tr_chat_v1, added from a genuine mlx-lm adapter folder."""
    return store.add(V1, write_fake_mlx_adapter(tmp_path / "run"), AdapterManifest(V1, "base"))


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())



def test_constructing_and_reading_touch_nothing(tmp_path: Path) -> None:
    store = FilesystemAdapterStore(tmp_path / "adapters")
    assert store.load_registry() == AdapterRegistry()
    assert list(store.versions()) == []
    assert store.problems(V1) == [f"folder {tmp_path / 'adapters' / 'tr_chat_v1'} is missing"]
    assert not (tmp_path / "adapters").exists()


def test_initialize_writes_an_empty_versioned_registry(store: FilesystemAdapterStore) -> None:
    store.initialize()
    assert json.loads(store.registry_file.read_text("utf-8")) == {"format": 1, "families": {}}


def test_registry_json_has_the_documented_format_and_no_temp_files(store: FilesystemAdapterStore) -> None:
    registry = AdapterRegistry.from_versions([V1, V2]).promote(V1).promote(V2)
    store.save_registry(registry)
    assert json.loads(store.registry_file.read_text("utf-8")) == {
        "format": 1,
        "families": {"tr_chat": {"versions": ["tr_chat_v1", "tr_chat_v2"], "active": "tr_chat_v2",
                                 "history": ["tr_chat_v1"]}},
    }
    assert entries(store.root) == [".lock", "registry.json"]
    # A second store on the same folder (another process, a restart) reads the same registry.
    assert FilesystemAdapterStore(store.root).load_registry() == registry


def test_a_crash_during_save_leaves_the_old_registry(
    store: FilesystemAdapterStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save_registry(AdapterRegistry.from_versions([V1]))
    before = store.registry_file.read_bytes()

    def crash(*_args: object) -> None:
        raise OSError("simulated power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(AdapterStoreError, match="simulated") as caught:
        store.save_registry(AdapterRegistry.from_versions([V1, V2]).promote(V2))
    assert str(caught.value).startswith(f"cannot write {store.registry_file}: simulated power cut; nothing")
    monkeypatch.undo()
    assert store.registry_file.read_bytes() == before
    assert store.load_registry() == AdapterRegistry.from_versions([V1])
    assert entries(store.root) == [".lock", "registry.json"]


def test_a_corrupt_registry_raises_naming_the_file_and_is_never_overwritten(
    store: FilesystemAdapterStore,
) -> None:
    store.root.mkdir()
    store.registry_file.write_text('{"format": 1, "families": {', "utf-8")
    before = store.registry_file.read_bytes()
    with pytest.raises(AdapterStoreError, match="not valid JSON") as caught:
        store.load_registry()
    assert str(store.registry_file) in str(caught.value)
    assert caught.value.path == store.registry_file
    with pytest.raises(AdapterStoreError):
        store.update_registry(lambda r: r.register(V1))
    store.initialize()
    assert store.registry_file.read_bytes() == before


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"families": {}}, "'format' must be a whole number"),
        ({"format": 2, "families": {}}, "newer than this EVO-TR knows"),
        ({"format": 1, "families": []}, "'families' must be an object"),
        ({"format": 1, "families": {}, "extra": 1}, "unknown key"),
        ({"format": 1, "families": {"../x": {"versions": []}}}, "not a valid family name"),
        ({"format": 1, "families": {"tr_chat": {"versions": ["tr_chat/../../etc_v1"]}}},
         "not a valid adapter version name"),
        ({"format": 1, "families": {"tr_chat": {"versions": ["../x"]}}}, "not a valid adapter version"),
        ({"format": 1, "families": {"tr_chat": {"versions": ["code_python_v1"]}}}, "belongs to family"),
        ({"format": 1, "families": {"tr_chat": {"versions": ["tr_chat_v1"], "active": "tr_chat_v2"}}},
         "not a registered version"),
        ({"format": 1, "families": {"tr_chat": {"versions": ["tr_chat_v1", "tr_chat_v1"]}}}, "twice"),
        ({"format": 1, "families": {"tr_chat": {"versions": [1]}}}, "is not a version name"),
        ({"format": 1, "families": {"tr_chat": {"versions": [], "owner": "me"}}}, "unknown key"),
        ([1, 2], "must hold a JSON object"),
    ],
)
def test_invalid_registry_documents_are_rejected(
    store: FilesystemAdapterStore, document: object, complaint: str
) -> None:
    store.root.mkdir()
    store.registry_file.write_text(json.dumps(document), "utf-8")
    with pytest.raises(AdapterStoreError, match=complaint) as caught:
        store.load_registry()
    assert str(store.registry_file) in str(caught.value)


def test_duplicate_keys_are_rejected_and_reordered_versions_accepted(store: FilesystemAdapterStore) -> None:
    store.root.mkdir()
    store.registry_file.write_text('{"format": 1, "format": 1, "families": {}}', "utf-8")
    with pytest.raises(AdapterStoreError, match="duplicate key 'format'"):
        store.load_registry()
    # Version order carries no meaning, so a hand edit that reorders them is fine.
    store.registry_file.write_text(json.dumps({"format": 1, "families": {"tr_chat": {
        "versions": ["tr_chat_v2", "tr_chat_v1"], "active": None, "history": []}}}), "utf-8")
    assert store.load_registry() == AdapterRegistry.from_versions([V1, V2])



def test_versions_ignore_stray_entries(store: FilesystemAdapterStore, added: Path) -> None:
    for name in (".tmp-tr_chat_v3-x1y2", "notes", "tr_chat_v0", "Tr_chat_v4", "tr_chat_v05"):
        (store.root / name).mkdir()
    (store.root / "tr_chat_v5").write_text("a file, not a folder", "utf-8")
    assert list(store.versions()) == [V1]


def test_add_copies_only_mlx_files_and_the_manifest(store: FilesystemAdapterStore, tmp_path: Path) -> None:
    source = write_fake_mlx_adapter(tmp_path / "run", checkpoint=True)
    folder = store.add(V1, source, AdapterManifest(V1, "base", metrics={"loss": 0.5}))
    assert folder == store.root / "tr_chat_v1"
    assert entries(folder) == ["adapter_config.json", "adapters.safetensors", "manifest.json"]
    for name in ("adapter_config.json", "adapters.safetensors"):
        assert (folder / name).read_bytes() == (source / name).read_bytes()
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert (manifest["family"], manifest["version"], manifest["metrics"]) == ("tr_chat", "tr_chat_v1",
                                                                              {"loss": 0.5})
    # No staging folder is left behind; the registry (created empty with the first version) is
    # not touched: registering is a separate step.
    assert entries(store.root) == [".lock", "registry.json", "tr_chat_v1"]
    assert store.load_registry() == AdapterRegistry()


def test_a_refused_add_leaves_no_staging_folder(store: FilesystemAdapterStore, tmp_path: Path) -> None:
    source = write_fake_mlx_adapter(tmp_path / "run")
    (source / "adapter_config.json").write_text('{"lora_parameters": {}}', "utf-8")
    with pytest.raises(AdapterStoreError, match="lacks 'num_layers'"):
        store.add(V1, source, AdapterManifest(V1, "base"))
    assert entries(store.root) == [".lock", "registry.json"]


def test_path_refuses_a_symlink_out_of_the_root(store: FilesystemAdapterStore, tmp_path: Path) -> None:
    store.root.mkdir()
    outside = write_fake_mlx_adapter(tmp_path / "elsewhere")
    (store.root / "tr_chat_v1").symlink_to(outside, target_is_directory=True)
    with pytest.raises(AdapterStoreError, match="outside"):
        store.path(V1)
    assert "outside" in store.problems(V1)[0]
    assert list(store.versions()) == []



@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("adapters.safetensors", None, "adapters.safetensors is missing"),
        ("adapter_config.json", b"", "adapter_config.json is empty"),
        ("adapter_config.json", b"{num_layers: 2", "adapter_config.json is not valid JSON"),
    ],
)
def test_problems_missing_empty_or_unreadable_file(
    store: FilesystemAdapterStore, added: Path, name: str, content: bytes | None, expected: str
) -> None:
    if content is None:
        (added / name).unlink()
    else:
        (added / name).write_bytes(content)
    [problem] = store.problems(V1)
    assert problem.startswith(expected)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"num_layers": None}, "adapter_config.json lacks 'num_layers'"),
        ({"num_layers": None, "lora_layers": 2}, "has 'lora_layers' from an older mlx-lm"),
        ({"num_layers": "2"}, "'num_layers' must be a whole number"),
        ({"lora_parameters": None}, "lacks 'lora_parameters'"),
        ({"lora_parameters": {"rank": 4, "dropout": 0.0}}, "lora_parameters lacks 'scale'"),
        ({"lora_parameters": {"rank": 0, "dropout": 0.0, "scale": 20.0}}, "rank must be"),
        ({"fine_tune_type": "qlora"}, "fine_tune_type 'qlora' is not one of"),
    ],
)
def test_problems_config_lacking_what_mlx_lm_reads(
    store: FilesystemAdapterStore, added: Path, change: dict[str, object], complaint: str
) -> None:
    file = added / "adapter_config.json"
    config = json.loads(file.read_text("utf-8"))
    for key, value in change.items():
        if value is None:
            config.pop(key)
        else:
            config[key] = value
    file.write_text(json.dumps(config), "utf-8")
    problems = store.problems(V1)
    assert any(complaint in p for p in problems), problems


def test_problems_truncated_safetensors(store: FilesystemAdapterStore, added: Path) -> None:
    file = added / "adapters.safetensors"
    file.write_bytes(file.read_bytes()[:-100])
    problems = store.problems(V1)
    assert problems and all(p.startswith("adapters.safetensors") for p in problems)
    assert "truncated" in problems[0]


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b"\x01\x02", "too short"),
        ((10_000).to_bytes(8, "little") + b"{}", "truncated or not safetensors"),
        ((4).to_bytes(8, "little") + b"nope", "header is not valid JSON"),
        ((2).to_bytes(8, "little") + b"{}", "holds no tensors"),
        (b"PK\x03\x04 this is a zip file, not safetensors", "truncated or not safetensors"),
    ],
)
def test_problems_not_safetensors(
    store: FilesystemAdapterStore, added: Path, content: bytes, complaint: str
) -> None:
    (added / "adapters.safetensors").write_bytes(content)
    [problem] = store.problems(V1)
    assert complaint in problem


def test_problems_manifest_missing_or_wrong(store: FilesystemAdapterStore, added: Path) -> None:
    manifest = added / "manifest.json"
    document = json.loads(manifest.read_text("utf-8"))
    manifest.write_text(json.dumps({**document, "version": "tr_chat_v2"}), "utf-8")
    assert store.problems(V1) == ["manifest.json names tr_chat_v2, not tr_chat_v1"]
    manifest.write_text("{", "utf-8")
    [problem] = store.problems(V1)
    assert problem.startswith("manifest.json:") and "not valid JSON" in problem
    manifest.unlink()
    assert store.problems(V1) == ["manifest.json is missing"]
    assert store.manifest(V1) is None


def test_a_corrupt_manifest_raises_naming_the_file(store: FilesystemAdapterStore, added: Path) -> None:
    manifest = added / "manifest.json"
    document = json.loads(manifest.read_text("utf-8"))
    manifest.write_text(json.dumps({**document, "created_at": "2025-03-14T09:26:53"}), "utf-8")
    with pytest.raises(AdapterStoreError, match="timezone-aware") as caught:
        store.manifest(V1)
    assert caught.value.path == manifest



def test_an_added_folder_loads_in_stock_mlx_lm(store: FilesystemAdapterStore, tmp_path: Path) -> None:
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.utils import load

    from evotr.infrastructure.mlx.tiny_model import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "tiny")
    source = write_fake_mlx_adapter(tmp_path / "run", seed=3)
    folder = store.add(V1, source, AdapterManifest(V1, str(model_dir)))
    assert store.problems(V1) == []

    written = mx.load(str(source / "adapters.safetensors"))
    stored = mx.load(str(folder / "adapters.safetensors"))
    assert isinstance(written, dict) and isinstance(stored, dict)
    assert sorted(stored) == sorted(written)
    assert all(mx.array_equal(stored[k], written[k]).item() for k in written)

    # load() applies linear_to_lora_layers from adapter_config.json, then load_adapters.
    model, _tokenizer = load(str(model_dir), adapter_path=str(folder))
    params = dict(tree_flatten(model.parameters()))
    assert set(written) <= set(params)
    assert all(mx.array_equal(params[k], written[k]).item() for k in written)


def test_a_kept_registry_read_follows_every_change_of_the_file(store: FilesystemAdapterStore,
                                                                tmp_path: Path) -> None:
    # A chat process keeps its last read; `adapters promote` in another process (another store
    # on the same folder), a hand edit and a deleted file must all be seen at the next read.
    store.save_registry(AdapterRegistry.from_versions([V1, V2]).promote(V1))
    assert store.load_registry().active(CHAT) == V1
    assert store.load_registry() is store.load_registry()  # kept while the file is unchanged
    other = FilesystemAdapterStore(tmp_path / "adapters")
    other.save_registry(other.load_registry().promote(V2))
    assert store.load_registry().active(CHAT) == V2
    text = store.registry_file.read_text("utf-8")
    # In place (same inode); one more byte, as timestamps may not move within a few ms.
    edited = text.replace('"active": "tr_chat_v2"', '"active": "tr_chat_v1"') + " "
    store.registry_file.write_text(edited, "utf-8")
    assert store.load_registry().active(CHAT) == V1
    store.registry_file.write_text("{", "utf-8")
    with pytest.raises(AdapterStoreError):
        store.load_registry()
    store.registry_file.unlink()
    assert store.load_registry() == AdapterRegistry()
