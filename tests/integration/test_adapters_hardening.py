"""Issue 8 hardening of the adapter store, through the real CLI on real folders.

A deleted registry.json is refused (never an empty registry over trained versions, never a silent
base model) until `adapters rebuild-registry`; rollback checks the folder like promote; a broken
version is one problem listing its intents; a read-only home fails with one line naming the lock.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterVersion
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.filesystem.adapter_store import FilesystemAdapterStore
from tests.adapter_fixtures import write_fake_mlx_adapter
from tests.cli_homes import memory_llm_home
from tests.readonly import make_read_only, run_cli_unprivileged, shared_tmp

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHAT_INTENTS = "general_chat, turkish_culture, history, science"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return memory_llm_home(tmp_path / "home")


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], env={"EVOTR_HOME": None})
    return result.exit_code, result.stdout, result.stderr


def add_version(home: Path, name: str, dataset: str = "data/training/tr") -> Path:
    """A trained version's folder as `evotr train` leaves it (mlx-lm files plus manifest)."""
    version = AdapterVersion.parse(name)
    source = write_fake_mlx_adapter(home.parent / "trained" / name, seed=version.number)
    return FilesystemAdapterStore(home / "adapters").add(version, source, AdapterManifest(
        version, base_model="tiny", dataset=dataset))


def registry(home: Path) -> dict[str, dict[str, object]]:
    families: dict[str, dict[str, object]] = json.loads(
        (home / "adapters" / "registry.json").read_text("utf-8"))["families"]
    return families


@pytest.fixture
def trained(home: Path) -> Path:
    """tr_chat v1 (promoted, then v2 promoted over it) and python_coder v1 (promoted)."""
    assert run(home, "init")[0] == 0
    for name in ("tr_chat_v1", "tr_chat_v2", "python_coder_v1"):
        add_version(home, name)
    for name in ("tr_chat_v1", "tr_chat_v2", "python_coder_v1"):
        code, _, err = run(home, "adapters", "promote", name)
        assert code == 0, err
    return home


# --- registry.json deleted ------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["adapters", "check"], ["adapters", "list"], ["ask", "Merhaba"], ["init"],
    ["adapters", "promote", "tr_chat_v1"], ["adapters", "rollback", "tr_chat"],
])
def test_a_deleted_registry_is_refused_and_never_replaced_by_an_empty_one(
    trained: Path, args: list[str]
) -> None:
    registry_file = trained / "adapters" / "registry.json"
    registry_file.unlink()
    code, out, err = run(trained, *args)
    assert code == 1
    assert err == (f"error: {registry_file}: missing, but {trained / 'adapters'} holds adapter version(s) "
                   "python_coder_v1, tr_chat_v1, tr_chat_v2; it records which version is active, so nothing "
                   "was served or changed. Run `evotr adapters rebuild-registry` (with the same --home) to "
                   "rebuild it from the versions' manifests, or restore registry.json from a backup\n")
    assert "ok:" not in out  # `adapters check` used to say ok and serve the base model
    assert not registry_file.exists()


def test_rebuild_registry_makes_the_newest_complete_version_active_and_says_so(trained: Path) -> None:
    before = registry(trained)
    add_version(trained, "tr_chat_v3")
    (trained / "adapters" / "tr_chat_v3" / "adapters.safetensors").unlink()
    (trained / "adapters" / "registry.json").unlink()

    code, out, err = run(trained, "adapters", "rebuild-registry")

    assert code == 0, err
    assert f"rebuilt {trained / 'adapters' / 'registry.json'} from the version folders:" in out
    assert "  python_coder: made python_coder_v1 active (the newest complete version)\n" in out
    assert ("  tr_chat: made tr_chat_v2 active (the newest complete version); also registered "
            "tr_chat_v1\n") in out
    assert (f"  tr_chat: skipped tr_chat_v3 (adapters.safetensors is missing "
            f"({trained / 'adapters' / 'tr_chat_v3'}))\n") in out
    assert "`evotr adapters promote <version>` changes it" in out
    rebuilt = registry(trained)
    assert rebuilt["tr_chat"] == {"versions": ["tr_chat_v1", "tr_chat_v2"], "active": "tr_chat_v2",
                                  "history": []}
    assert rebuilt["python_coder"]["active"] == before["python_coder"]["active"]
    code, out, _ = run(trained, "adapters", "check")
    assert code == 0 and f"ok: tr_chat ({CHAT_INTENTS}): active tr_chat_v2" in out


def test_rebuild_registry_never_replaces_an_existing_registry(trained: Path) -> None:
    registry_file = trained / "adapters" / "registry.json"
    before = registry_file.read_bytes()
    code, _, err = run(trained, "adapters", "rebuild-registry")
    assert code == 1
    assert err == (f"error: {registry_file}: already exists, so nothing was rebuilt; it is never "
                   "overwritten (move it aside first to rebuild it)\n")
    assert registry_file.read_bytes() == before


def test_a_fresh_home_still_gets_an_empty_registry(home: Path) -> None:
    assert run(home, "init")[0] == 0
    assert registry(home) == {}
    code, out, _ = run(home, "adapters", "check")
    assert code == 0 and "serving base model (no version trained yet)" in out


# --- rollback to a broken version ----------------------------------------------------------


@pytest.mark.parametrize("damage", ["folder", "adapters.safetensors"])
def test_rollback_to_a_missing_or_incomplete_version_is_refused(trained: Path, damage: str) -> None:
    folder = trained / "adapters" / "tr_chat_v1"
    if damage == "folder":
        shutil.rmtree(folder)
        problem = f"folder {folder} is missing"
    else:
        (folder / damage).unlink()
        problem = f"{damage} is missing ({folder})"
    before = (trained / "adapters" / "registry.json").read_bytes()

    code, _, err = run(trained, "adapters", "rollback", "tr_chat")

    assert code == 1
    assert err == (f"error: cannot roll back tr_chat to tr_chat_v1: {problem}; tr_chat_v2 stays active. "
                   "Restore that folder, or make a complete version active with "
                   "`evotr adapters promote tr_chat_vN`\n")
    assert (trained / "adapters" / "registry.json").read_bytes() == before
    code, out, _ = run(trained, "adapters", "check")  # later messages still have their adapter
    assert code == 0 and "active tr_chat_v2" in out


def test_rollback_to_a_complete_version_still_works(trained: Path) -> None:
    code, out, err = run(trained, "adapters", "rollback", "tr_chat")
    assert code == 0, err
    assert out == "tr_chat rolled back; active version: tr_chat_v1\n"
    assert registry(trained)["tr_chat"]["active"] == "tr_chat_v1"


# --- a broken active version is one problem -------------------------------------------------


def test_check_prints_one_error_line_per_broken_version_listing_its_intents(trained: Path) -> None:
    shutil.rmtree(trained / "adapters" / "tr_chat_v2")
    (trained / "adapters" / "python_coder_v1" / "adapters.safetensors").unlink()
    (trained / "adapters" / "python_coder_v1" / "manifest.json").unlink()
    code, _, err = run(trained, "adapters", "check")
    assert code == 1
    coder, chat = trained / "adapters" / "python_coder_v1", trained / "adapters" / "tr_chat_v2"
    assert err.splitlines() == [
        "error: family python_coder → python_coder_v1 (intents code_python, code_debug, code_explain, "
        f"code_math): adapters.safetensors is missing; manifest.json is missing at {coder}; restore that "
        "folder, or make a complete version active with `evotr adapters promote python_coder_vN`",
        "error: family tr_chat → tr_chat_v2 (intents general_chat, turkish_culture, history, science): "
        f"folder {chat} is missing; restore that folder, or make a complete version active with "
        "`evotr adapters promote tr_chat_vN`",
    ]


# --- a read-only home ----------------------------------------------------------------------


def test_a_read_only_home_reads_adapters_and_refuses_writes_with_one_line() -> None:
    with shared_tmp() as tmp:
        home = memory_llm_home(tmp / "home")
        assert run(home, "init")[0] == 0
        for name in ("tr_chat_v1", "tr_chat_v2"):
            add_version(home, name)
        assert run(home, "adapters", "promote", "tr_chat_v1")[0] == 0
        before = (home / "adapters" / "registry.json").read_bytes()
        make_read_only(home)

        # Reading needs no lock: registry.json is only ever replaced by an atomic rename.
        listed = run_cli_unprivileged(["--home", str(home), "adapters", "list", "--json"])
        assert listed.returncode == 0, listed.stderr
        rows = {row["family"]: row for row in json.loads(listed.stdout)}
        assert rows["tr_chat"]["active"] == "tr_chat_v1"
        checked = run_cli_unprivileged(["--home", str(home), "adapters", "check"])
        assert checked.returncode == 0, checked.stderr
        assert f"ok: tr_chat ({CHAT_INTENTS}): active tr_chat_v1".encode() in checked.stdout

        promoted = run_cli_unprivileged(["--home", str(home), "adapters", "promote", "tr_chat_v2"])
        assert promoted.returncode == 1
        # The kernel's reason: EACCES here, EROFS on a read-only mount (as some sandboxes report it).
        assert re.fullmatch(
            f"error: cannot write {re.escape(str(home / 'adapters' / '.lock'))}: "
            "(Permission denied|Read-only file system); make the home folder writable, or point --home "
            "or EVOTR_HOME at a writable one\n", promoted.stderr.decode()), promoted.stderr
        assert (home / "adapters" / "registry.json").read_bytes() == before


def test_ask_and_data_generate_answer_when_only_the_adapters_folder_is_read_only() -> None:
    # They used to take adapters/.lock at start-up just to see that registry.json exists.
    with shared_tmp() as tmp:
        home = memory_llm_home(tmp / "home")
        assert run(home, "init")[0] == 0
        add_version(home, "tr_chat_v1")
        assert run(home, "adapters", "promote", "tr_chat_v1")[0] == 0
        make_read_only(home / "adapters")

        asked = run_cli_unprivileged(["--home", str(home), "ask", "--json", "Merhaba, nasılsın?"])
        assert asked.returncode == 0, asked.stderr
        assert json.loads(asked.stdout)["adapter"] == "tr_chat_v1"
        generated = run_cli_unprivileged(["--home", str(home), "data", "generate", "--category", "history",
                                          "--count", "2", "--backend", "memory"])
        assert generated.returncode == 0, generated.stderr
