"""config.json for mlx-lm, from GGUF metadata plus what the GGUF leaves out."""

from __future__ import annotations

from typing import Any

from evotr.infrastructure.models.errors import ModelImportError
from evotr.infrastructure.models.gguf_file import GgufFile

# What Gemma 3's text model needs and llama.cpp does not store (issue 9); Hugging Face's
# gemma-3-270m / 1b config.json have these values. query_pre_attn_scalar equals head_dim there.
GEMMA3_ROPE_LOCAL_BASE_FREQ = 10_000.0
GEMMA3_SLIDING_WINDOW_PATTERN = 6


def model_config(gguf: GgufFile, model_type: str, vocab_size: int, tied: bool,
                 special_ids: dict[str, int | list[int] | None]) -> dict[str, Any]:
    """The config.json mlx-lm's ``model_type`` reads, from the file's ``<arch>.*`` metadata."""
    hidden = int(gguf.require("embedding_length"))
    heads = int(gguf.require("attention.head_count"))
    kv_heads = int(gguf.arch_value("attention.head_count_kv", heads))
    head_dim = int(gguf.arch_value("attention.key_length", hidden // heads))
    config: dict[str, Any] = {
        "model_type": model_type,
        "hidden_size": hidden,
        "num_hidden_layers": int(gguf.require("block_count")),
        "intermediate_size": int(gguf.require("feed_forward_length")),
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "rms_norm_eps": float(gguf.arch_value("attention.layer_norm_rms_epsilon", 1e-6)),
        "vocab_size": vocab_size,
        "max_position_embeddings": int(gguf.arch_value("context_length", 8192)),
        "rope_theta": float(gguf.arch_value("rope.freq_base", 10_000.0)),
        "tie_word_embeddings": tied,
        **{key: value for key, value in special_ids.items() if value is not None},
    }
    scaling = _rope_scaling(gguf)
    if scaling is not None:
        config["rope_scaling"] = scaling
    if model_type == "gemma3_text":
        config.update({
            "architectures": ["Gemma3ForCausalLM"],
            "hidden_activation": "gelu_pytorch_tanh",
            "query_pre_attn_scalar": head_dim,
            "rope_local_base_freq": GEMMA3_ROPE_LOCAL_BASE_FREQ,
            "sliding_window": int(gguf.arch_value("attention.sliding_window", 512)),
            "sliding_window_pattern": GEMMA3_SLIDING_WINDOW_PATTERN,
        })
    elif model_type == "llama":
        config.update({
            "architectures": ["LlamaForCausalLM"],
            "hidden_act": "silu",
            "attention_bias": False,
            "mlp_bias": False,
        })
    return config


def _rope_scaling(gguf: GgufFile) -> dict[str, Any] | None:
    kind = gguf.arch_value("rope.scaling.type")
    if kind in (None, "none"):
        return None
    factor = gguf.arch_value("rope.scaling.factor")
    if kind == "linear" and factor:
        return {"type": "linear", "factor": float(factor)}
    raise ModelImportError(f"{gguf.path}: RoPE scaling {kind!r} is not supported by this importer "
                           "(only linear); convert the original model with mlx_lm.convert instead")
