"""Loading configs/*.yaml into Settings: the shipped files, defaults, and every error class.

Expected line numbers are computed from the text each test writes, never hard-coded.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evotr.application.settings import BACKEND_CHOICES, Settings
from evotr.domain.adapters import AdapterFamily
from evotr.domain.intents import ALL_INTENTS, Intent
from evotr.infrastructure.config.errors import ConfigError
from evotr.infrastructure.config.loader import (
    default_config_dir,
    load_settings,
    resolve_config_file,
)

pytestmark = pytest.mark.unit

CHAT = ("general_chat", "turkish_culture", "history", "science")
CODE = ("code_python", "code_debug", "code_explain", "code_math")


# --- helpers ---------------------------------------------------------------------------------


def load(configs: Path) -> Settings:
    return load_settings(configs / "evotr.yaml", home=configs / "home", env={})


def replace_once(file: Path, old: str, new: str) -> None:
    text = file.read_text("utf-8")
    assert text.count(old) == 1, f"{old!r} must occur exactly once in {file}"
    file.write_text(text.replace(old, new), "utf-8")


def line_of(file: Path, needle: str) -> int:
    """1-based number of the only line of ``file`` that contains ``needle``."""
    hits = [n for n, line in enumerate(file.read_text("utf-8").splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits} of {file}"
    return hits[0]


def load_error(configs: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(configs)
    return caught.value


def assert_error(err: ConfigError, file: Path, line: int | None, key: str, *parts: str) -> None:
    message = str(err)
    assert "\n" not in message, message
    where = f"{file}:{line}" if line is not None else f"{file}"
    prefix = f"{where}: {key}: " if key else f"{where}: "
    assert message.startswith(prefix), f"{message!r} does not start with {prefix!r}"
    assert (err.file, err.line, err.key) == (file, line, key)
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


# --- the shipped configs ---------------------------------------------------------------------


def test_the_packaged_configs_load_with_the_documented_values() -> None:
    settings = load_settings(default_config_dir() / "evotr.yaml", home=Path("h"), env={})
    assert settings.routing.threshold == 0.7
    assert settings.gate.min_corrections == 10
    for name in CHAT:
        assert settings.intents.family_for(Intent(name)) == AdapterFamily("tr_chat")
    for name in CODE:
        assert settings.intents.family_for(Intent(name)) == AdapterFamily("python_coder")
    assert settings.config_file == default_config_dir() / "evotr.yaml"
    assert settings.intents_file == default_config_dir() / "intents.yaml"
    assert all(settings.intents.examples[i] for i in ALL_INTENTS)


def test_every_optional_key_defaults_to_the_shipped_value(shipped_configs: Path) -> None:
    shipped = load(shipped_configs)
    path = shipped.model.path
    (shipped_configs / "evotr.yaml").write_text(f"model:\n  path: {path}\n", "utf-8")
    minimal = load_settings(shipped_configs / "evotr.yaml", env={})
    assert minimal.home == Path(".evotr")
    assert minimal.backends == {port: choices[0] for port, choices in BACKEND_CHOICES.items()}
    assert minimal.backends == shipped.backends
    for attribute in ("routing", "context_max_tokens", "sampling", "gate", "persona", "intents"):
        assert getattr(minimal, attribute) == getattr(shipped, attribute), attribute


def test_an_empty_section_means_its_defaults(shipped_configs: Path) -> None:
    config = shipped_configs / "evotr.yaml"
    replace_once(config, "sampling:\n  temperature: 0.7\n  top_p: 0.9\n  max_tokens: 512\n  seed: null\n",
                 "sampling:\n")
    assert load(shipped_configs).sampling == load_settings(
        default_config_dir() / "evotr.yaml", env={}
    ).sampling


def test_an_integer_is_accepted_where_a_number_is_expected(shipped_configs: Path) -> None:
    replace_once(shipped_configs / "evotr.yaml", "temperature: 0.7", "temperature: 1")
    temperature = load(shipped_configs).sampling.temperature
    assert temperature == 1.0 and isinstance(temperature, float)


# --- home and config precedence --------------------------------------------------------------


def test_home_argument_beats_env_which_beats_the_yaml_key(shipped_configs: Path, tmp_path: Path) -> None:
    config = shipped_configs / "evotr.yaml"
    assert load_settings(config, env={}).home == Path(".evotr")  # unset: ./.evotr in the cwd
    replace_once(config, "# home: .evotr", "home: from-yaml")
    env = {"EVOTR_HOME": str(tmp_path / "from-env")}
    assert load_settings(config, home=tmp_path / "arg", env=env).home == tmp_path / "arg"
    assert load_settings(config, env=env).home == tmp_path / "from-env"
    assert load_settings(config, env={}).home == shipped_configs / "from-yaml"
    assert load_settings(config, env={"EVOTR_HOME": ""}).home == shipped_configs / "from-yaml"


def test_the_home_key_is_relative_to_the_config_folder_like_every_path(
    shipped_configs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = shipped_configs / "evotr.yaml"
    replace_once(config, "# home: .evotr", "home: ../my-home")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert load_settings(config, env={}).home == shipped_configs / "../my-home"
    replace_once(config, "home: ../my-home", "home: ~/evotr-home")
    assert load_settings(config, env={}).home == Path.home() / "evotr-home"


def test_without_an_env_argument_the_process_environment_is_read(
    shipped_configs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVOTR_HOME", str(tmp_path / "process-env"))
    assert load_settings(shipped_configs / "evotr.yaml").home == tmp_path / "process-env"


def test_config_file_precedence(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    default = default_config_dir() / "evotr.yaml"
    explicit, from_env = tmp_path / "explicit.yaml", tmp_path / "env.yaml"
    env = {"EVOTR_CONFIG": str(from_env)}
    assert resolve_config_file(explicit, home, env) == explicit
    assert resolve_config_file(None, home, env) == from_env
    assert resolve_config_file(None, home, {}) == default  # no copy in the home yet
    (home / "evotr.yaml").write_text("model: {path: x}\n", "utf-8")
    assert resolve_config_file(None, home, {}) == home / "evotr.yaml"
    assert resolve_config_file(None, None, {}) == default
    assert default.is_file() and (default.parent / "intents.yaml").is_file()


def test_intents_file_is_relative_to_the_config_folder_not_the_cwd(
    shipped_configs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load(shipped_configs).intents_file == shipped_configs / "intents.yaml"


def test_relative_paths_stay_relative_in_messages(
    shipped_configs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(shipped_configs.parent)
    replace_once(shipped_configs / "evotr.yaml", "threshold: 0.7", "threshold: 1.5")
    with pytest.raises(ConfigError) as caught:
        load_settings(Path("configs/evotr.yaml"), env={})
    line = line_of(shipped_configs / "evotr.yaml", "threshold: 1.5")
    assert str(caught.value).startswith(f"configs/evotr.yaml:{line}: router.threshold: ")


# --- one edit, one error line ----------------------------------------------------------------

VALID_INTENTS = tuple(i.value for i in ALL_INTENTS)
# (file, text to replace, replacement, text on the line the error must name, key, message parts)
EDITS = [
    ("intents.yaml", "  code_python:\n    family: python_coder\n",
     "  code_python:\n    family: python_codr\n", "python_codr", "intents.code_python.family",
     ("unknown family 'python_codr'; families defined: python_coder, tr_chat",)),
    ("intents.yaml", "  code_python:\n    family:", "  code_python:\n    famly:", "famly:",
     "intents.code_python.famly", ("unknown key; did you mean 'family'?",)),
    ("intents.yaml", "  science:\n", "  weather:\n", "weather:", "intents.weather",
     ("unknown intent", *VALID_INTENTS)),
    ("intents.yaml", "  python_coder:\n", "  python_coder_v2:\n", "python_coder_v2:",
     "families.python_coder_v2", ("looks like a version", "registry")),
    ("intents.yaml", "  code_math:\n    family: python_coder\n",
     "  code_math:\n    family: python_coder_v1\n", "python_coder_v1", "intents.code_math.family",
     ("looks like a version", "registry")),
    # Wrong types name what was expected and what was found; bool is never an int.
    ("evotr.yaml", "threshold: 0.7", "threshold: high", "high", "router.threshold",
     ("expected a number", "'high'")),
    ("evotr.yaml", "max_tokens: 4096", "max_tokens: 40.5", "40.5", "context.max_tokens",
     ("expected an integer",)),
    ("evotr.yaml", "min_corrections: 10", "min_corrections: true", "min_corrections",
     "feedback.min_corrections", ("expected an integer", "found a boolean")),
    ("evotr.yaml", "max_tokens: 512", "max_tokens: yes", "max_tokens: yes", "sampling.max_tokens",
     ("expected an integer", "boolean")),
    ("evotr.yaml", "seed: null", "seed: '7'", "seed", "sampling.seed",
     ("expected an integer or null", "string")),
    ("evotr.yaml", "persona: |", "persona: [a]\nold: |", "persona", "persona",
     ("expected a string", "found a list")),
    # Domain rules (attrs value objects) are reported at the YAML key that fed them.
    ("evotr.yaml", "threshold: 0.7", "threshold: 1.5", "1.5", "router.threshold", ("between 0 and 1",)),
    ("evotr.yaml", "temperature: 0.7", "temperature: -1", "-1", "sampling.temperature", ("between 0 and 5",)),
    ("evotr.yaml", "top_p: 0.9", "top_p: 2", "top_p", "sampling.top_p", ("between 0 and 1",)),
    ("evotr.yaml", "seed: null", "seed: -3", "seed", "sampling.seed", (">= 0",)),
    ("evotr.yaml", "max_tokens: 4096", "max_tokens: 0", "max_tokens: 0", "context.max_tokens", (">= 1",)),
    ("evotr.yaml", "min_corrections: 10", "min_corrections: 0", "min_corrections",
     "feedback.min_corrections", (">= 1",)),
    ("evotr.yaml", "fallback_intent: general_chat", "fallback_intent: weather", "weather",
     "router.fallback_intent", ("unknown intent 'weather'", *VALID_INTENTS)),
    # Schema rules of evotr.yaml.
    ("evotr.yaml", "feedback: sqlite", "feedback: postgres", "postgres", "backends.feedback",
     ("'postgres'", *BACKEND_CHOICES["feedback"])),
    ("evotr.yaml", "persona: |", "persnoa: |", "persnoa", "persnoa",
     ("unknown key", "did you mean 'persona'?")),
    ("evotr.yaml", "  path: mlx-community/Qwen2.5-3B-Instruct-4bit\n", "", "model:", "model.path",
     ("missing required key",)),
    ("evotr.yaml", "intents_file: intents.yaml", "intents_file: other.yaml", "other.yaml", "intents_file",
     ("does not exist", "other.yaml")),
    ("evotr.yaml", "# home: .evotr", "on: .evotr", "on: .evotr", "on", ("quote",)),
    ("evotr.yaml", "top_p: 0.9", "top_p: 0.9: oops", "oops", "", ("invalid YAML",)),
]


@pytest.mark.parametrize(("name", "old", "new", "needle", "key", "parts"), EDITS,
                         ids=[f"{e[0]}:{e[4] or 'syntax'}" for e in EDITS])
def test_an_edit_gives_one_error_line_naming_file_line_and_key(
    shipped_configs: Path, name: str, old: str, new: str, needle: str, key: str, parts: tuple[str, ...]
) -> None:
    file = shipped_configs / name
    replace_once(file, old, new)
    assert_error(load_error(shipped_configs), file, line_of(file, needle), key, *parts)


def test_every_intent_must_be_present(shipped_configs: Path) -> None:
    intents = shipped_configs / "intents.yaml"
    text = intents.read_text("utf-8")
    intents.write_text(text[: text.index("  code_math:\n")], "utf-8")  # code_math is the last block
    assert_error(load_error(shipped_configs), intents, line_of(intents, "intents:"),
                 "intents.code_math", "missing")


def test_empty_example_names_its_index(shipped_configs: Path) -> None:
    intents = shipped_configs / "intents.yaml"
    replace_once(intents, "      - osmanli tarihini anlat\n", "      - '  '\n")
    lines = intents.read_text("utf-8").splitlines()
    bad = lines.index("      - '  '")
    index = bad - lines.index("    examples:", lines.index("  history:")) - 1
    assert_error(load_error(shipped_configs), intents, bad + 1, f"intents.history.examples[{index}]",
                 "empty")


@pytest.mark.parametrize(
    ("name", "old", "new", "key"),
    [
        ("evotr.yaml", "router:\n", "router:\n  threshold: 0.2\n", "router.threshold"),
        ("intents.yaml", "  history:\n    family: tr_chat\n",
         "  history:\n    family: tr_chat\n    family: python_coder\n", "intents.history.family"),
    ],
)
def test_duplicate_key_is_an_error_not_last_one_wins(
    shipped_configs: Path, name: str, old: str, new: str, key: str
) -> None:
    file = shipped_configs / name
    replace_once(file, old, new)
    first = line_of(file, old.splitlines()[0]) + 1  # the key right under the edited header
    assert_error(load_error(shipped_configs), file, first + 1, key, "duplicate", f"line {first}")


# --- unreadable files ------------------------------------------------------------------------


def test_non_utf8_file_names_the_line(shipped_configs: Path) -> None:
    config = shipped_configs / "evotr.yaml"
    # The first non-ASCII word is re-encoded as Latin-1, which is not valid UTF-8.
    lines = config.read_text("utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "Türkçe" in text)
    raw = config.read_bytes().replace("Türkçe".encode(), "Türkçe".encode("latin-1"), 1)
    config.write_bytes(raw)
    assert_error(load_error(shipped_configs), config, line, "", "UTF-8")


@pytest.mark.parametrize(
    ("text", "line", "part"),
    [
        ("", None, "empty"),
        ("# only a comment\n", None, "empty"),
        ("\n- model\n- home\n", 2, "must be a mapping"),
        ("just text\n", 1, "must be a mapping"),
    ],
)
def test_empty_or_non_mapping_file(shipped_configs: Path, text: str, line: int | None, part: str) -> None:
    config = shipped_configs / "evotr.yaml"
    config.write_text(text, "utf-8")
    assert_error(load_error(shipped_configs), config, line, "", part)


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_settings(missing, env={})
    assert_error(caught.value, missing, None, "", "does not exist")
    assert str(caught.value) == f"{missing}: file does not exist"


def test_relative_model_folder_resolves_against_the_config_folder(shipped_configs: Path) -> None:
    (shipped_configs / "models" / "qwen").mkdir(parents=True)
    config = shipped_configs / "evotr.yaml"
    text = config.read_text("utf-8").replace(
        "path: mlx-community/Qwen2.5-3B-Instruct-4bit", "path: models/qwen")
    config.write_text(text, "utf-8")
    assert load_settings(config, env={}).model.path == str(shipped_configs / "models" / "qwen")


def test_hub_id_is_kept_when_no_such_folder_exists(shipped_configs: Path) -> None:
    settings = load_settings(shipped_configs / "evotr.yaml", env={})
    assert settings.model.path == "mlx-community/Qwen2.5-3B-Instruct-4bit"


@pytest.mark.parametrize(("value", "local"), [
    ("./models/tiny", "models/tiny"),        # written as a path: local even when missing
    ("../tiny", "../tiny"),
    ("models/deep/tiny", "models/deep/tiny"),  # three parts cannot be a hub id
    ("local/tiny", "local/tiny"),  # its first part is a folder beside the config
    ("mlx-community/Qwen2.5-3B-Instruct-4bit", None),  # owner/name, no such folder: the hub
    ("gpt2", None),
])
def test_a_missing_model_folder_is_local_unless_spelled_like_a_hub_id(
    shipped_configs: Path, value: str, local: str | None
) -> None:
    (shipped_configs / "local").mkdir()
    replace_once(shipped_configs / "evotr.yaml", "path: mlx-community/Qwen2.5-3B-Instruct-4bit",
                 f"path: {value}")
    path = load_settings(shipped_configs / "evotr.yaml", env={}).model.path
    expected = value if local is None else os.path.abspath(shipped_configs / local)
    assert path == expected


def test_absolute_and_home_relative_model_paths_stay_local(shipped_configs: Path, tmp_path: Path) -> None:
    config = shipped_configs / "evotr.yaml"
    replace_once(config, "path: mlx-community/Qwen2.5-3B-Instruct-4bit", f"path: {tmp_path / 'm'}")
    assert load_settings(config, env={}).model.path == str(tmp_path / "m")
    replace_once(config, f"path: {tmp_path / 'm'}", "path: ~/models/m")
    assert load_settings(config, env={}).model.path == str(Path.home() / "models" / "m")
