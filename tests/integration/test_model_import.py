"""GGUF → mlx-lm import (issue 9): small GGUF files written with gguf's GGUFWriter, random tensors
of several quant types, both architectures; names, shapes, the Gemma norm shift, the llama q/k
permutation, the tokenizer with BOS, the chat template, and loading in stock mlx_lm."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evotr.infrastructure.models.importer import import_gguf
from tests.integration.test_model_import_files import (
    HEAD_DIM,
    HIDDEN,
    KV_HEADS,
    LAYERS,
    PIECES,
    SPECIALS,
    TEXT,
    hf_weights,
    saved_weights,
    vocabulary,
    write_gguf,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("gemma")
    expected = write_gguf(root / "gemma.gguf", "gemma3")
    import_gguf(root / "gemma.gguf", root / "out")
    return root / "out", expected


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("llama")
    expected = write_gguf(root / "llama.gguf", "llama", seed=1)
    import_gguf(root / "llama.gguf", root / "out")
    return root / "out", expected


@pytest.mark.parametrize("which", ["gemma", "llama"])
def test_every_tensor_arrives_under_mlx_names_with_its_values(
        which: str, request: pytest.FixtureRequest) -> None:
    folder, expected = request.getfixturevalue(which)
    saved = saved_weights(folder)
    assert set(saved) == set(expected)
    for name, values in expected.items():
        assert saved[name].shape == values.shape, name
        np.testing.assert_allclose(saved[name], values, rtol=0, atol=1e-6, err_msg=name)


def test_quantized_tensors_are_close_to_the_original_floats(tmp_path: Path) -> None:
    """Independent of gguf's decoder: Q8_0 / Q5_0 / Q4_0 / F16 tensors decode near what was written."""
    rng = np.random.default_rng(0)
    write_gguf(tmp_path / "g.gguf", "gemma3")
    original = hf_weights("gemma3", rng, len(vocabulary()[0]))
    import_gguf(tmp_path / "g.gguf", tmp_path / "out")
    saved = saved_weights(tmp_path / "out")
    for name, atol in [("model.embed_tokens.weight", 0.003), ("model.layers.0.self_attn.q_proj.weight", 1e-4),
                       ("model.layers.0.self_attn.v_proj.weight", 0.012),
                       ("model.layers.1.mlp.gate_proj.weight", 0.025)]:
        np.testing.assert_allclose(saved[name], original[name], rtol=0, atol=atol, err_msg=name)


def test_gemma_norms_lose_llama_cpp_plus_one_and_q_k_keep_their_rows(
        gemma: tuple[Path, dict[str, np.ndarray]]) -> None:
    import gguf

    folder, _ = gemma
    saved = saved_weights(folder)
    reader = gguf.GGUFReader(str(folder.parent / "gemma.gguf"))
    stored = {t.name: np.array(t.data, dtype=np.float32) for t in reader.tensors}
    np.testing.assert_allclose(saved["model.norm.weight"], stored["output_norm.weight"] - 1.0, atol=1e-6)
    np.testing.assert_allclose(saved["model.layers.1.self_attn.k_norm.weight"],
                               stored["blk.1.attn_k_norm.weight"] - 1.0, atol=1e-6)
    # F32 k and F16 q: bit-for-bit the stored rows, not permuted (Gemma uses NeoX RoPE).
    for proj in ("k", "q"):
        np.testing.assert_array_equal(saved[f"model.layers.0.self_attn.{proj}_proj.weight"],
                                      stored[f"blk.0.attn_{proj}.weight"])
    assert "lm_head.weight" not in saved  # tied to the embedding, as in Gemma
    config = json.loads((folder / "config.json").read_text("utf-8"))
    assert config["model_type"] == "gemma3_text"
    assert (config["query_pre_attn_scalar"], config["rope_local_base_freq"],
            config["sliding_window_pattern"], config["sliding_window"]) == (HEAD_DIM, 10000.0, 6, 512)
    assert (config["hidden_size"], config["num_hidden_layers"], config["num_key_value_heads"],
            config["head_dim"], config["vocab_size"]) == (HIDDEN, LAYERS, KV_HEADS, HEAD_DIM,
                                                          len(SPECIALS) + 256 + len(PIECES))
    assert config["eos_token_id"] == [1, 5]  # <eos> and <end_of_turn>


def test_llama_q_k_permutation_is_undone(llama: tuple[Path, dict[str, np.ndarray]]) -> None:
    import gguf

    folder, _ = llama
    saved = saved_weights(folder)
    reader = gguf.GGUFReader(str(folder.parent / "llama.gguf"))
    stored_q = np.array(next(t for t in reader.tensors if t.name == "blk.0.attn_q.weight").data)
    original_q = hf_weights("llama", np.random.default_rng(1), len(vocabulary()[0]))[
        "model.layers.0.self_attn.q_proj.weight"]
    assert not np.array_equal(stored_q, original_q)  # the file really holds permuted rows
    np.testing.assert_array_equal(saved["model.layers.0.self_attn.q_proj.weight"], original_q)
    config = json.loads((folder / "config.json").read_text("utf-8"))
    assert config["model_type"] == "llama" and config["tie_word_embeddings"] is False
    assert "lm_head.weight" in saved


@pytest.mark.parametrize("which", ["gemma", "llama"])
def test_tokenizer_round_trips_with_bos(which: str, request: pytest.FixtureRequest) -> None:
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    folder, _ = request.getfixturevalue(which)
    raw = Tokenizer.from_file(str(folder / "tokenizer.json"))
    loaded = AutoTokenizer.from_pretrained(str(folder))
    for ids in (raw.encode(TEXT).ids, loaded.encode(TEXT)):
        assert ids[0] == 2 and ids.count(2) == 1  # exactly one <bos>, first
        assert 3 not in ids  # no <unk>: byte fallback covers every character
    assert raw.encode(TEXT).ids == loaded.encode(TEXT)
    assert loaded.decode(loaded.encode(TEXT), skip_special_tokens=True).strip() == TEXT
    assert loaded.encode("<start_of_turn>", add_special_tokens=False) == [4]  # one control token


def test_gemma_chat_template(gemma: tuple[Path, dict[str, np.ndarray]]) -> None:
    from transformers import AutoTokenizer

    folder, _ = gemma
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    messages = [{"role": "system", "content": "Kısa cevap ver."}, {"role": "user", "content": "Merhaba"},
                {"role": "assistant", "content": "Selam"}, {"role": "user", "content": "Nasılsın?"}]
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert text == ("<bos><start_of_turn>user\nKısa cevap ver.\n\nMerhaba<end_of_turn>\n"
                    "<start_of_turn>model\nSelam<end_of_turn>\n"
                    "<start_of_turn>user\nNasılsın?<end_of_turn>\n<start_of_turn>model\n")
    ids = tokenizer.apply_chat_template(messages[1:2], add_generation_prompt=True)
    ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
    assert ids[:2] == [2, 4] and ids.count(2) == 1  # one BOS, then <start_of_turn>


@pytest.mark.parametrize("which", ["gemma", "llama"])
def test_stock_mlx_lm_loads_and_generates(which: str, request: pytest.FixtureRequest) -> None:
    import mlx.core as mx
    import mlx_lm

    folder, _ = request.getfixturevalue(which)
    model, tokenizer = mlx_lm.load(str(folder))
    text = mlx_lm.generate(model, tokenizer, "merhaba", max_tokens=4)
    assert isinstance(text, str)
    logits = model(mx.array([[2, 300, 301]]))
    assert logits.shape == (1, 3, len(vocabulary()[0]))
    assert bool(mx.all(mx.isfinite(logits)))


def test_quantize_8_and_bfloat16(gemma: tuple[Path, dict[str, np.ndarray]], tmp_path: Path) -> None:
    import mlx.core as mx
    import mlx_lm

    source = gemma[0].parent / "gemma.gguf"
    import_gguf(source, tmp_path / "q8", quantize="8")
    config = json.loads((tmp_path / "q8" / "config.json").read_text("utf-8"))
    assert config["quantization"] == {"group_size": 64, "bits": 8, "mode": "affine"}
    q8 = mx.load(str(tmp_path / "q8" / "model.safetensors"))
    assert isinstance(q8, dict)
    assert q8["model.layers.0.mlp.up_proj.scales"].dtype == mx.float32  # fp32 scales: fast on CPU
    model, _ = mlx_lm.load(str(tmp_path / "q8"))
    reference, _ = mlx_lm.load(str(gemma[0]))
    prompt = mx.array([[2, 300, 301, 302]])
    assert float(mx.max(mx.abs(model(prompt) - reference(prompt)))) < 0.05
    import_gguf(source, tmp_path / "bf16", dtype="bfloat16")
    bf16 = mx.load(str(tmp_path / "bf16" / "model.safetensors"))
    assert isinstance(bf16, dict)
    assert {value.dtype for value in bf16.values()} == {mx.bfloat16}
