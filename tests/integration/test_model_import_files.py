"""Small GGUF files for the importer's tests, written with gguf's GGUFWriter the way llama.cpp's
converter writes real ones (Gemma norms +1, llama q/k rows permuted), with random tensors of every
kind of quant type the real Gemma 3 270M file holds (F32, F16, Q8_0, Q5_0, Q4_0, Q4_K, Q5_K, Q6_K)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evotr.infrastructure.models.architectures import permute_rows, unpermute_rows

pytestmark = pytest.mark.integration

# Six layers: mlx-lm's Gemma 3 needs at least one full sliding-window pattern (5 local + 1 global).
HIDDEN, FFN, HEADS, KV_HEADS, HEAD_DIM, LAYERS = 256, 512, 2, 1, 128, 6
SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
PIECES = ["▁", "\n", *"abcdefghijklmnoprstuvyzçğıöşüİ'.,?", "▁m", "er", "ha", "ba", "mer", "▁mer",
          "haba", "▁merhaba", "▁d", "ün", "ya", "▁dün", "▁dünya"]
TEXT = "merhaba dünya, nasılsın?\nİyiyim."


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    """A sentencepiece-style vocabulary: control tokens, byte fallback, pieces (Gemma's layout)."""
    tokens = SPECIALS + [f"<0x{b:02X}>" for b in range(256)] + PIECES
    types = [3] * len(SPECIALS) + [6] * 256 + [1] * len(PIECES)  # control, byte, normal
    scores = [0.0] * (len(SPECIALS) + 256) + [-float(i) for i in range(len(PIECES))]
    return tokens, scores, types


def hf_weights(arch: str, rng: np.random.Generator, vocab: int) -> dict[str, np.ndarray]:
    """Random weights under mlx-lm's names, as the model should end up holding them."""
    def rand(*shape: int) -> np.ndarray:
        return (0.05 * rng.standard_normal(shape)).astype(np.float32)

    q_rows, kv_rows = HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM
    weights = {"model.embed_tokens.weight": rand(vocab, HIDDEN), "model.norm.weight": rand(HIDDEN)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        weights.update({
            p + "self_attn.q_proj.weight": rand(q_rows, HIDDEN),
            p + "self_attn.k_proj.weight": rand(kv_rows, HIDDEN),
            p + "self_attn.v_proj.weight": rand(kv_rows, HIDDEN),
            p + "self_attn.o_proj.weight": rand(HIDDEN, q_rows),
            p + "mlp.gate_proj.weight": rand(FFN, HIDDEN),
            p + "mlp.up_proj.weight": rand(FFN, HIDDEN),
            p + "mlp.down_proj.weight": rand(HIDDEN, FFN),
            p + "input_layernorm.weight": rand(HIDDEN),
            p + "post_attention_layernorm.weight": rand(HIDDEN),
        })
        if arch == "gemma3":
            weights.update({
                p + "self_attn.q_norm.weight": rand(HEAD_DIM),
                p + "self_attn.k_norm.weight": rand(HEAD_DIM),
                p + "pre_feedforward_layernorm.weight": rand(HIDDEN),
                p + "post_feedforward_layernorm.weight": rand(HIDDEN),
            })
    if arch == "llama":
        weights["lm_head.weight"] = rand(vocab, HIDDEN)
    return weights


GGUF_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
    "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight",
    "input_layernorm.weight": "attn_norm.weight",
    "pre_feedforward_layernorm.weight": "ffn_norm.weight",
    "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
}


def gguf_name(arch: str, hf_name: str) -> str:
    if not hf_name.startswith("model.layers."):
        return GGUF_NAMES[hf_name]
    _, _, layer, suffix = hf_name.split(".", 3)
    if suffix == "post_attention_layernorm.weight":  # llama: the pre-MLP norm; gemma: post-attention
        return f"blk.{layer}." + ("ffn_norm.weight" if arch == "llama" else "post_attention_norm.weight")
    return f"blk.{layer}.{GGUF_NAMES[suffix]}"


# The quant type of each tensor kind in the test files: every kind of type the real file has.
QUANT = {
    "gemma3": {"token_embd": "Q8_0", "attn_q": "F16", "attn_k": "F32", "attn_v": "Q5_0",
               "attn_output": "Q4_K", "ffn_gate": "Q4_0", "ffn_up": "Q6_K", "ffn_down": "Q5_K"},
    "llama": {"token_embd": "Q4_K", "output": "Q8_0", "attn_q": "F32", "attn_k": "Q8_0",
              "attn_v": "F16", "attn_output": "Q6_K", "ffn_gate": "Q5_0", "ffn_up": "Q4_K",
              "ffn_down": "Q8_0"},
}


def random_kquant(rows: int, cols: int, qtype: Any, rng: np.random.Generator) -> np.ndarray:
    """Random K-quant blocks with sane fp16 scales (gguf's Python code cannot quantize K types)."""
    import gguf

    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(rows, cols // block, size), dtype=np.uint8)
    scale = np.array([0.002, 0.001], dtype=np.float16).view(np.uint8)
    if qtype.name == "Q6_K":
        raw[..., size - 2:] = scale[:2]  # d is last
    else:
        raw[..., :4] = scale  # d, dmin first
    return raw.reshape(rows, cols // block * size)


def encode(values: np.ndarray, type_name: str, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
    """(array for GGUFWriter.add_tensor, raw_dtype)."""
    import gguf

    qtype = gguf.GGMLQuantizationType[type_name]
    if type_name == "F32":
        return values, None
    if type_name == "F16":
        return values.astype(np.float16), None
    if type_name.endswith("_K"):
        return random_kquant(values.shape[0], values.shape[1], qtype, rng), qtype
    return gguf.quants.quantize(values, qtype), qtype


def write_gguf(path: Path, arch: str = "gemma3", seed: int = 0, *, tokenizer: bool = True,
               extra_tensor: str | None = None) -> dict[str, np.ndarray]:
    """Write a small GGUF of ``arch``; return the weights mlx-lm should hold after the import.

    Gemma's norms are stored +1 and llama's q/k rows permuted, as llama.cpp's converter does.
    """
    import gguf

    rng = np.random.default_rng(seed)
    tokens, scores, types = vocabulary()
    weights = hf_weights(arch if arch in ("gemma3", "llama") else "gemma3", rng, len(tokens))
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_context_length(4096)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_key_length(HEAD_DIM)
    writer.add_value_length(HEAD_DIM)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(1_000_000.0 if arch == "gemma3" else 10_000.0)
    if arch == "gemma3":
        writer.add_sliding_window(512)
    if tokenizer:
        writer.add_tokenizer_model("llama")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
        writer.add_bos_token_id(2)
        writer.add_eos_token_id(1)
        writer.add_unk_token_id(3)
        writer.add_pad_token_id(0)
        writer.add_add_bos_token(True)
        writer.add_add_space_prefix(False)
    expected: dict[str, np.ndarray] = {}
    for hf_name, values in weights.items():
        name = gguf_name(arch, hf_name)
        stored = values
        if arch == "gemma3" and name.endswith("norm.weight"):
            stored = values + 1.0
        if arch == "llama" and name.endswith("attn_q.weight"):
            stored = permute_rows(values, HEADS)
        if arch == "llama" and name.endswith("attn_k.weight"):
            stored = permute_rows(values, KV_HEADS)
        kind = name.split(".")[-2]
        data, raw_dtype = encode(stored, QUANT.get(arch, QUANT["gemma3"]).get(kind, "F32"), rng)
        writer.add_tensor(name, data, raw_dtype=raw_dtype)
        # What the file really holds, decoded by gguf, then undone as the importer must.
        held = values if raw_dtype is None and data.dtype == np.float32 else _decode(data, raw_dtype, stored)
        if raw_dtype is not None or data.dtype != np.float32:
            held = _undo(arch, name, held)
        expected[hf_name] = held.astype(np.float32)
    if extra_tensor is not None:
        writer.add_tensor(extra_tensor, np.ones(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return expected


def _decode(data: np.ndarray, raw_dtype: Any, stored: np.ndarray) -> np.ndarray:
    import gguf

    if raw_dtype is None:  # F16
        return data.astype(np.float32)
    return gguf.quants.dequantize(data, raw_dtype).reshape(stored.shape)


def _undo(arch: str, name: str, held: np.ndarray) -> np.ndarray:
    if arch == "gemma3" and name.endswith("norm.weight"):
        return held - 1.0
    if arch == "llama" and name.endswith("attn_q.weight"):
        return unpermute_rows(held, HEADS)
    if arch == "llama" and name.endswith("attn_k.weight"):
        return unpermute_rows(held, KV_HEADS)
    return held


def saved_weights(folder: Path) -> dict[str, np.ndarray]:
    import mlx.core as mx

    loaded = mx.load(str(folder / "model.safetensors"))
    assert isinstance(loaded, dict)
    return {name: np.array(value.astype(mx.float32)) for name, value in loaded.items()}


def test_written_files_hold_the_declared_quant_types(tmp_path: Path) -> None:
    import gguf

    write_gguf(tmp_path / "g.gguf", "gemma3")
    reader = gguf.GGUFReader(str(tmp_path / "g.gguf"))
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    assert set(types.values()) == {"F32", "F16", "Q8_0", "Q5_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"}
    assert types["blk.0.attn_output.weight"] == "Q4_K" and types["blk.5.ffn_up.weight"] == "Q6_K"
    assert reader.fields["general.architecture"].contents() == "gemma3"


def test_the_plain_view_reader_reads_what_gguf_reads(tmp_path: Path) -> None:
    """The importer's faster reader: every metadata field and every tensor equal to GGUFReader's."""
    import gguf

    from evotr.infrastructure.models.gguf_file import _reader

    path = tmp_path / "m.gguf"
    write_gguf(path, "gemma3")
    ours, theirs = _reader(path), gguf.GGUFReader(str(path))
    assert list(ours.fields) == list(theirs.fields) and len(ours.fields) > 10
    for name, field in theirs.fields.items():
        assert ours.fields[name].types == field.types, name
        assert str(ours.fields[name].contents()) == str(field.contents()), name
    assert [t.name for t in ours.tensors] == [t.name for t in theirs.tensors]
    for mine, stock in zip(ours.tensors, theirs.tensors, strict=True):
        assert (mine.tensor_type, mine.data_offset, mine.n_bytes) == (stock.tensor_type, stock.data_offset,
                                                                      stock.n_bytes)
        assert np.array_equal(mine.data, stock.data), mine.name
