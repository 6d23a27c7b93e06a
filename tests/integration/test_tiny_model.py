"""The tiny model builds offline, deterministically, and loads with stock mlx_lm.load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evotr.infrastructure.mlx.tiny_model import build_tiny_model, ensure_tiny_model, is_tiny_model

pytestmark = pytest.mark.integration

TURKISH = "İstanbul'da çay içtik, ğüşöç"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="module")
def loaded(tiny: Path) -> tuple[object, object]:
    import mlx_lm

    return mlx_lm.load(str(tiny))


def test_layout_and_config(tiny: Path) -> None:
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (tiny / name).is_file(), name
    config = json.loads((tiny / "config.json").read_text("utf-8"))
    tokenizer = json.loads((tiny / "tokenizer.json").read_text("utf-8"))
    tok_config = json.loads((tiny / "tokenizer_config.json").read_text("utf-8"))
    assert config["model_type"] == "qwen2"
    assert config["tie_word_embeddings"] is True
    assert config["num_key_value_heads"] == 2
    real_vocab = len(tokenizer["model"]["vocab"])
    assert config["vocab_size"] == real_vocab
    assert 480 <= real_vocab <= 512
    assert tok_config["eos_token"] == "<|im_end|>"
    assert tok_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert is_tiny_model(tiny, seed=0)
    assert not is_tiny_model(tiny, seed=1)
    # Nothing is left behind from the atomic build.
    assert [p.name for p in tiny.parent.iterdir()] == ["model"]


def test_mlx_lm_loads_it(loaded: tuple[object, object]) -> None:
    import mlx.core as mx

    model, tokenizer = loaded
    ids = tokenizer.encode("Merhaba dünya")  # type: ignore[attr-defined]
    logits = model(mx.array([ids]))  # type: ignore[operator]
    assert logits.shape[-1] == len(tokenizer.get_vocab())  # type: ignore[attr-defined]
    assert tokenizer.eos_token == "<|im_end|>"  # type: ignore[attr-defined]


def test_chat_template_renders_chatml(loaded: tuple[object, object]) -> None:
    _, tokenizer = loaded
    messages = [{"role": "system", "content": "Sistem."}, {"role": "user", "content": "Selam!"},
                {"role": "assistant", "content": "Merhaba."}, {"role": "user", "content": "Nasılsın?"}]
    text = tokenizer.apply_chat_template(  # type: ignore[attr-defined]
        messages, tokenize=False, add_generation_prompt=True)
    assert text == (
        "<|im_start|>system\nSistem.<|im_end|>\n<|im_start|>user\nSelam!<|im_end|>\n"
        "<|im_start|>assistant\nMerhaba.<|im_end|>\n<|im_start|>user\nNasılsın?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    without = tokenizer.apply_chat_template(  # type: ignore[attr-defined]
        messages, tokenize=False, add_generation_prompt=False)
    assert not without.endswith("<|im_start|>assistant\n")
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True)  # type: ignore[attr-defined]
    assert ids.count(tokenizer.convert_tokens_to_ids("<|im_start|>")) == 5  # type: ignore[attr-defined]


def test_turkish_round_trips(loaded: tuple[object, object]) -> None:
    _, tokenizer = loaded
    ids = tokenizer.encode(TURKISH, add_special_tokens=False)  # type: ignore[attr-defined]
    assert tokenizer.decode(ids) == TURKISH  # type: ignore[attr-defined]
    # Trained merges make Turkish shorter than its UTF-8 bytes.
    assert len(ids) < len(TURKISH.encode("utf-8")) * 3 // 4


def test_same_seed_same_bytes_other_seed_other_weights(tiny: Path, tmp_path: Path) -> None:
    again = build_tiny_model(tmp_path / "again", seed=0)
    other = build_tiny_model(tmp_path / "other", seed=1)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (again / name).read_bytes() == (tiny / name).read_bytes(), name
    assert (other / "model.safetensors").read_bytes() != (tiny / "model.safetensors").read_bytes()


def test_ensure_does_not_rebuild(tmp_path: Path) -> None:
    path = ensure_tiny_model(tmp_path / "m", seed=0)
    weights = path / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert ensure_tiny_model(tmp_path / "m", seed=0) == path
    assert weights.stat().st_mtime_ns == before


def test_ensure_rebuilds_incomplete_or_other_seed(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.mkdir()
    (path / "config.json").write_text("{}", "utf-8")
    ensure_tiny_model(path, seed=0)
    assert is_tiny_model(path, seed=0)
    ensure_tiny_model(path, seed=3)
    assert is_tiny_model(path, seed=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
