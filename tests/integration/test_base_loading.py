"""Base-model loading for training: fresh weights every time, the tokenizer read once per folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evotr.infrastructure.mlx.base_loading import load_base
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

pytestmark = pytest.mark.integration


def test_same_model_as_mlx_lm_load_and_the_tokenizer_shared_until_its_files_change(tmp_path: Path) -> None:
    import mlx.core as mx
    import mlx_lm
    from mlx.utils import tree_flatten

    folder = ensure_tiny_model(tmp_path / "tiny")
    stock_model, stock_tokenizer = mlx_lm.load(str(folder))[:2]
    first_model, first_tokenizer = load_base(str(folder))
    second_model, second_tokenizer = load_base(str(folder))
    assert first_model is not second_model  # training changes the module tree: never shared
    stock = dict(tree_flatten(stock_model.parameters()))
    ours = dict(tree_flatten(first_model.parameters()))
    assert stock.keys() == ours.keys() and all(mx.array_equal(stock[k], ours[k]).item() for k in stock)
    assert second_tokenizer is first_tokenizer
    text = "Merhaba, nasılsın?"
    assert first_tokenizer.encode(text) == stock_tokenizer.encode(text)
    assert first_tokenizer.eos_token_ids == stock_tokenizer.eos_token_ids

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    copied = load_base(str(copy))[1]
    assert copied is not first_tokenizer  # another folder, another tokenizer
    config = copy / "tokenizer_config.json"
    data = json.loads(config.read_text("utf-8"))
    data["model_max_length"] = 1234
    config.write_text(json.dumps(data), "utf-8")
    changed = load_base(str(copy))[1]
    assert changed is not copied  # its tokenizer files changed: read again
    assert changed.model_max_length == 1234
