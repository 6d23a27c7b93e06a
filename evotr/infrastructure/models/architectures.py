"""Per GGUF architecture: tensor names in mlx-lm (Hugging Face) spelling and the fixes llama.cpp needs undone.

llama.cpp's converter (``convert_hf_to_gguf.py``) changes two things on the way in:

* Gemma's RMSNorm weights are stored +1, because llama.cpp computes ``x·w`` while Gemma computes
  ``x·(1+w)``; mlx-lm's Gemma computes ``x·(1+w)``, so 1 is subtracted again.
* For the ``llama`` architecture the rows of q and k are permuted from Hugging Face's rotate-half
  RoPE layout to the interleaved layout llama.cpp uses; the permutation is undone. Gemma uses
  NeoX RoPE in both worlds, so its q and k are copied as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from evotr.infrastructure.models.errors import ModelImportError

_BLOCK = re.compile(r"^blk\.(\d+)\.(.+)$")

_COMMON_GLOBAL = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}

_COMMON_LAYER = {
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}

_GEMMA3_LAYER = {
    **_COMMON_LAYER,
    "attn_q_norm.weight": "self_attn.q_norm.weight",
    "attn_k_norm.weight": "self_attn.k_norm.weight",
    "attn_norm.weight": "input_layernorm.weight",
    "post_attention_norm.weight": "post_attention_layernorm.weight",
    "ffn_norm.weight": "pre_feedforward_layernorm.weight",
    "post_ffw_norm.weight": "post_feedforward_layernorm.weight",
}

_LLAMA_LAYER = {
    **_COMMON_LAYER,
    "attn_norm.weight": "input_layernorm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
}


@dataclass(frozen=True)
class Architecture:
    """How one GGUF architecture maps onto an mlx-lm model."""

    gguf_name: str
    model_type: str
    layer_map: dict[str, str]
    shift_norms: bool  # subtract llama.cpp's +1 from every RMSNorm weight
    permute_qk: bool  # undo llama.cpp's q/k row permutation

    def hf_name(self, gguf_name: str) -> str | None:
        """The mlx-lm parameter name of a GGUF tensor; None for a tensor this model has no use for."""
        if gguf_name in _COMMON_GLOBAL:
            return _COMMON_GLOBAL[gguf_name]
        match = _BLOCK.match(gguf_name)
        if match is None:
            return None
        layer, suffix = match.groups()
        target = self.layer_map.get(suffix)
        return None if target is None else f"model.layers.{layer}.{target}"

    def fix(self, gguf_name: str, values: Any, n_heads: int, n_kv_heads: int) -> Any:
        """Undo what llama.cpp did to this tensor (NumPy in, NumPy out)."""
        if self.shift_norms and gguf_name.endswith("norm.weight"):
            return values - 1.0
        if self.permute_qk and gguf_name.endswith(".attn_q.weight"):
            return unpermute_rows(values, n_heads)
        if self.permute_qk and gguf_name.endswith(".attn_k.weight"):
            return unpermute_rows(values, n_kv_heads)
        return values


def unpermute_rows(values: Any, n_heads: int) -> Any:
    """Inverse of llama.cpp's ``permute(w, n_head)``: interleaved RoPE pairs back to halves per head."""
    rows = values.shape[0]
    if rows % (2 * n_heads):
        raise ModelImportError(f"cannot undo the q/k permutation: {rows} rows do not split into "
                               f"{n_heads} heads of pairs")
    split = values.reshape(n_heads, rows // n_heads // 2, 2, *values.shape[1:])
    return split.swapaxes(1, 2).reshape(values.shape)


def permute_rows(values: Any, n_heads: int) -> Any:
    """llama.cpp's ``permute(w, n_head)`` (what its converter applies to llama q/k); tests use it."""
    rows = values.shape[0]
    split = values.reshape(n_heads, 2, rows // n_heads // 2, *values.shape[1:])
    return split.swapaxes(1, 2).reshape(values.shape)


ARCHITECTURES = {
    "gemma3": Architecture("gemma3", "gemma3_text", _GEMMA3_LAYER, shift_norms=True, permute_qk=False),
    "llama": Architecture("llama", "llama", _LLAMA_LAYER, shift_norms=False, permute_qk=True),
}


def architecture_for(name: str, source: object) -> Architecture:
    """The supported architecture called ``name``; any other is a one-line error."""
    arch = ARCHITECTURES.get(name)
    if arch is None:
        raise ModelImportError(
            f"{source}: GGUF architecture {name!r} is not supported; supported: "
            f"{', '.join(sorted(ARCHITECTURES))}")
    return arch
