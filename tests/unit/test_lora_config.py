"""LoRA configs in mlx-lm's keys: the shipped ones load, and every mistake is one file:line line."""

from __future__ import annotations

from pathlib import Path

import pytest

from evotr.domain.errors import DomainValidationError
from evotr.domain.training import with_preset
from evotr.infrastructure.config.errors import ConfigError
from evotr.infrastructure.config.lora_config import load_lora_config

pytestmark = pytest.mark.unit

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize(("name", "family"), [("lora_tr_config_v2.yaml", "tr_chat"),
                                              ("lora_python_config_v2.yaml", "python_coder")])
def test_the_shipped_configs_load_with_small_model_defaults(name: str, family: str) -> None:
    config = load_lora_config(CONFIGS / name)
    assert config.family == family
    assert config.learning_rate == pytest.approx(1e-4) and config.options["mask_prompt"] is True
    assert (config.batch_size, config.num_layers, config.rank) == (2, 8, 8)
    assert config.source["lora_parameters"] == {"rank": 8, "scale": 20.0, "dropout": 0.0}


def test_unset_keys_take_defaults_and_options_reach_the_trainer(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("iters: 30\nlora_parameters:\n  rank: 4\n  keys: [self_attn.q_proj]\n", "utf-8")
    config = load_lora_config(file)
    assert (config.family, config.model, config.data) == (None, None, None)
    assert (config.iterations, config.rank, config.max_seq_length) == (30, 4, 512)
    assert config.options["keys"] == ["self_attn.q_proj"] and config.options["val_batches"] == -1


@pytest.mark.parametrize(("text", "message"), [
    ("iters: 10\nlearing_rate: 1e-4\n", "c.yaml:2: learing_rate: unknown key; did you mean 'learning_rate'?"),
    ("fine_tune_type: dora\n", "c.yaml:1: fine_tune_type: 'dora' is not one of: lora"),
    ("batch_size: two\n", "c.yaml:1: batch_size: expected an integer, found a string ('two')"),
    ("iters: 0\n", "c.yaml:1: iters: must be at least 1, got 0"),
    ("val_batches: 0\n", "c.yaml:1: val_batches: must be -1"),
    ("learning_rate: -0.1\n", "c.yaml:1: learning_rate: must be positive"),
    ("lora_parameters:\n  rnak: 8\n", "c.yaml:2: lora_parameters.rnak: unknown key; did you mean 'rank'?"),
    ("optimizer: adamw\n", "optimizer: 'adamw' is not one of: adam"),
])
def test_mistakes_are_one_line_with_file_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "c.yaml"
    file.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as info:
        load_lora_config(file)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_memory_friendly_preset_matches_the_notes() -> None:
    config = with_preset(load_lora_config(CONFIGS / "lora_tr_config_v2.yaml"), "memory-friendly")
    assert (config.batch_size, config.num_layers, config.rank, config.max_seq_length) == (2, 8, 8, 512)
    assert config.preset == "memory-friendly"
    with pytest.raises(DomainValidationError, match="unknown preset 'tiny'; presets: memory-friendly"):
        with_preset(config, "tiny")
