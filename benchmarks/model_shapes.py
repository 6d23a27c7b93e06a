"""The Qwen2 shapes the benchmark builds random models for, and the constants of their cache.

``shaped_models`` builds a model of a shape and ``shaped_adapters`` writes LoRA adapters for
one; both keep them under ``CACHE_DIR/<shape>/`` and stamp ``FORMAT_VERSION`` into a marker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
# Bump when the build changes so cached outputs are rebuilt.
FORMAT_VERSION = 1
GROUP_SIZE = 64
BITS = 4
# mlx-lm's default LoRA keys for a Qwen2 block (``linear_to_lora_layers`` with no "keys": every
# linear layer of the block); ``Shape.projection_dims`` gives each one's (input, output) size.
LORA_PROJECTIONS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")


@dataclass(frozen=True)
class Shape:
    """The architecture numbers of a Qwen2 checkpoint."""

    name: str
    hidden_size: int
    num_layers: int
    intermediate_size: int
    num_heads: int
    num_kv_heads: int
    vocab_size: int
    rope_theta: float = 1_000_000.0
    max_position_embeddings: int = 32768
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = True

    @property
    def head_dim(self) -> int:
        """Size of one attention head."""
        return self.hidden_size // self.num_heads

    def projection_dims(self, key: str) -> tuple[int, int]:
        """(input, output) size of one of ``LORA_PROJECTIONS``."""
        h, kv, inter = self.hidden_size, self.num_kv_heads * self.head_dim, self.intermediate_size
        return {
            "self_attn.q_proj": (h, h), "self_attn.k_proj": (h, kv), "self_attn.v_proj": (h, kv),
            "self_attn.o_proj": (h, h), "mlp.gate_proj": (h, inter), "mlp.up_proj": (h, inter),
            "mlp.down_proj": (inter, h),
        }[key]


SHAPES: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape("qwen2.5-3b-shape", hidden_size=2048, num_layers=36, intermediate_size=11008,
              num_heads=16, num_kv_heads=2, vocab_size=151936),
        Shape("qwen2.5-0.5b-shape", hidden_size=896, num_layers=24, intermediate_size=4864,
              num_heads=14, num_kv_heads=2, vocab_size=151936),
        Shape("tiny", hidden_size=64, num_layers=2, intermediate_size=128, num_heads=4,
              num_kv_heads=2, vocab_size=512, rope_theta=10000.0, max_position_embeddings=2048),
    )
}


def get_shape(shape: Shape | str) -> Shape:
    """The shape called ``shape`` (a ``Shape`` is returned as it is); exits on an unknown name."""
    if isinstance(shape, Shape):
        return shape
    try:
        return SHAPES[shape]
    except KeyError:
        raise SystemExit(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}") from None
