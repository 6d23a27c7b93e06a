"""Random-weight Qwen2 models shaped like real checkpoints, and LoRA adapters for them.

The models are what ``mlx_lm.convert -q`` writes for Qwen2.5 (4-bit affine, group size 64,
bf16 scales/biases/norms, tied embeddings), so loading, adapter switching and decoding cost
what they cost on the real thing; only the numbers inside are noise. The tokenizer is the tiny
model's small byte-level BPE (``evotr.infrastructure.mlx.tiny_model``): every id the model can
emit beyond it detokenizes to a placeholder, which is all a benchmark needs.

Everything is built offline, seeded, layer by layer (peak memory is about one layer in bf16 plus
the quantized model), into ``benchmarks/.cache/<shape>/`` and reused while complete::

    python benchmarks/shaped_models.py qwen2.5-3b-shape qwen2.5-0.5b-shape
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
MARKER = "evotr_shaped_model.json"
ADAPTER_MARKER = "evotr_bench_adapter.json"
# Bump when the build changes so cached outputs are rebuilt.
FORMAT_VERSION = 1
GROUP_SIZE = 64
BITS = 4
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "generation_config.json")
# mlx-lm's default LoRA keys for a Qwen2 block (``linear_to_lora_layers`` with no "keys": every
# linear layer of the block), with each projection's (input, output) size as a function of shape.
LORA_PROJECTIONS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")
ADAPTER_FAMILY = "bench"


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


def get_shape(name: str) -> Shape:
    try:
        return SHAPES[name]
    except KeyError:
        raise SystemExit(f"unknown shape {name!r}; known: {', '.join(SHAPES)}") from None


# ---------------------------------------------------------------------------------------------
# Small file helpers


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _replace_dir(staging: Path, out_dir: Path) -> None:
    """Swap ``staging`` in for ``out_dir``; an old directory is moved aside, then deleted."""
    if out_dir.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, trash / out_dir.name)
        os.replace(staging, out_dir)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staging, out_dir)


def dir_size(path: Path) -> int:
    """Bytes of the regular files directly in ``path``."""
    return sum(p.stat().st_size for p in Path(path).iterdir() if p.is_file())


# ---------------------------------------------------------------------------------------------
# Models


def model_dir(shape: Shape | str, cache_dir: Path = CACHE_DIR) -> Path:
    shape = get_shape(shape) if isinstance(shape, str) else shape
    return Path(cache_dir) / shape.name / "model"


def _marker(shape: Shape, seed: int) -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "seed": seed, "shape": asdict(shape),
            "quantization": {"group_size": GROUP_SIZE, "bits": BITS}}


def is_complete_model(out_dir: Path, shape: Shape, seed: int) -> bool:
    out_dir = Path(out_dir)
    required = ("config.json", "model.safetensors.index.json", *TOKENIZER_FILES)
    if not all((out_dir / name).is_file() for name in required):
        return False
    if not any(out_dir.glob("model*.safetensors")):
        return False
    return _read_json(out_dir / MARKER) == _marker(shape, seed)


def _model_config(shape: Shape, tokenizer_config: dict[str, Any]) -> dict[str, Any]:
    """config.json as mlx-community's Qwen2.5 4-bit conversions have it."""
    return {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_act": "silu",
        "hidden_size": shape.hidden_size,
        "intermediate_size": shape.intermediate_size,
        "num_hidden_layers": shape.num_layers,
        "num_attention_heads": shape.num_heads,
        "num_key_value_heads": shape.num_kv_heads,
        "max_position_embeddings": shape.max_position_embeddings,
        "max_window_layers": shape.num_layers,
        "rms_norm_eps": shape.rms_norm_eps,
        "rope_theta": shape.rope_theta,
        "sliding_window": shape.max_position_embeddings,
        "use_sliding_window": False,
        "tie_word_embeddings": shape.tie_word_embeddings,
        "torch_dtype": "bfloat16",
        "vocab_size": shape.vocab_size,
        "bos_token_id": tokenizer_config["bos_token_id"],
        "eos_token_id": tokenizer_config["eos_token_id"],
        "quantization": {"group_size": GROUP_SIZE, "bits": BITS},
    }


def _tokenizer_into(target: Path) -> dict[str, Any]:
    """Copy the tiny model's tokenizer files into ``target``; return its bos/eos ids."""
    from evotr.infrastructure.mlx.tiny_model import build_tiny_model

    with tempfile.TemporaryDirectory(prefix="evotr-bench-tok-") as tmp:
        tiny = build_tiny_model(Path(tmp) / "tiny", seed=0)
        for name in TOKENIZER_FILES:
            shutil.copyfile(tiny / name, target / name)
        config = json.loads((tiny / "config.json").read_text("utf-8"))
    return {"bos_token_id": config["bos_token_id"], "eos_token_id": config["eos_token_id"]}


def _random_module(module: Any, key: Any, std: float = 0.02) -> None:
    """Fresh bf16 values for every parameter of ``module`` from ``key`` alone (norms are ones)."""
    import mlx.core as mx
    from mlx.utils import tree_flatten, tree_unflatten

    params = sorted(tree_flatten(module.parameters()), key=lambda item: item[0])
    keys = mx.random.split(key, max(len(params), 2))
    new = []
    for i, (name, value) in enumerate(params):
        if name.endswith("norm.weight"):
            new.append((name, mx.ones(value.shape, dtype=mx.bfloat16)))
        else:
            new.append((name, mx.random.normal(value.shape, dtype=mx.bfloat16, scale=std,
                                               key=keys[i])))
    module.update(tree_unflatten(new))


def build_model(shape: Shape | str, out_dir: Path | None = None, *, seed: int = 0,
                cache_dir: Path = CACHE_DIR, verbose: bool = True) -> Path:
    """Build the 4-bit random model for ``shape`` into ``out_dir`` (replacing it)."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx_lm.models import qwen2
    from mlx_lm.utils import save_config, save_model

    shape = get_shape(shape) if isinstance(shape, str) else shape
    out_dir = Path(out_dir) if out_dir is not None else model_dir(shape, cache_dir)
    start = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        token_ids = _tokenizer_into(staging)
        config = _model_config(shape, token_ids)
        model_config = {k: v for k, v in config.items() if k != "quantization"}
        # Constructing the model only records lazy initialisers; nothing is allocated until a
        # parameter is evaluated, and every one is replaced before that.
        model = qwen2.Model(qwen2.ModelArgs.from_dict(model_config))
        root = mx.random.key(seed)
        keys = mx.random.split(root, shape.num_layers + 2)

        def quantize_child(parent: Any, child: str, key: Any) -> None:
            # nn.quantize replaces children, never the module it is given, so quantize a leaf
            # (embedding, lm_head) through its parent.
            _random_module(getattr(parent, child), key)
            nn.quantize(parent, group_size=GROUP_SIZE, bits=BITS,
                        class_predicate=lambda path, m: path == child)
            mx.eval(getattr(parent, child).parameters())

        # The embedding first (the largest single array), then one block at a time: each is
        # drawn in bf16, quantized and evaluated before the next, so only one is ever in bf16.
        quantize_child(model.model, "embed_tokens", keys[0])
        for i, layer in enumerate(model.model.layers):
            _random_module(layer, keys[i + 1])
            nn.quantize(layer, group_size=GROUP_SIZE, bits=BITS)
            mx.eval(layer.parameters())
        _random_module(model.model.norm, keys[-1])
        if not shape.tie_word_embeddings:
            quantize_child(model, "lm_head", keys[-1])
        mx.eval(model.parameters())
        save_model(staging, model)
        del model
        save_config(dict(config), config_path=staging / "config.json")
        # The marker goes last: a directory with it was written completely.
        _write_json(staging / MARKER, _marker(shape, seed))
        _replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if verbose:
        size = sum(p.stat().st_size for p in out_dir.glob("model*.safetensors"))
        print(f"built {shape.name} in {time.perf_counter() - start:.1f} s "
              f"({size / 2**20:.0f} MiB of weights) -> {out_dir}", flush=True)
    return out_dir


def ensure_model(shape: Shape | str, *, seed: int = 0, cache_dir: Path = CACHE_DIR,
                 verbose: bool = True) -> Path:
    """The cached model for ``shape``; built only if missing or incomplete."""
    shape = get_shape(shape) if isinstance(shape, str) else shape
    out_dir = model_dir(shape, cache_dir)
    if is_complete_model(out_dir, shape, seed):
        return out_dir
    return build_model(shape, out_dir, seed=seed, cache_dir=cache_dir, verbose=verbose)


# ---------------------------------------------------------------------------------------------
# Adapters


def adapter_name(index: int) -> str:
    """``bench_v1``, ``bench_v2``, ...: valid evotr adapter version names."""
    return f"{ADAPTER_FAMILY}_v{index + 1}"


def adapter_weights(shape: Shape, *, rank: int, num_layers: int, seed: int,
                    projections: Sequence[str] = LORA_PROJECTIONS) -> dict[str, Any]:
    """LoRA arrays keyed by mlx-lm's parameter names, for the last ``num_layers`` blocks.

    ``linear_to_lora_layers`` converts ``model.layers[-num_layers:]``; LoRALinear holds
    ``lora_a`` as (input, rank) and ``lora_b`` as (rank, output), both float32 as mlx-lm trains
    them. ``lora_b`` is non-zero (training starts it at zero) so the adapter changes the output.
    """
    import mlx.core as mx

    first = shape.num_layers - num_layers
    names = [(f"model.layers.{layer}.{proj}", *shape.projection_dims(proj))
             for layer in range(first, shape.num_layers) for proj in projections]
    keys = mx.random.split(mx.random.key(seed), 2 * len(names))
    weights: dict[str, Any] = {}
    for i, (prefix, n_in, n_out) in enumerate(names):
        weights[f"{prefix}.lora_a"] = mx.random.normal((n_in, rank), scale=n_in**-0.5, key=keys[2 * i])
        weights[f"{prefix}.lora_b"] = mx.random.normal((rank, n_out), scale=0.01, key=keys[2 * i + 1])
    return weights


def _adapter_marker(shape: Shape, rank: int, num_layers: int, seed: int) -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "shape": shape.name, "rank": rank, "num_layers": num_layers,
            "seed": seed, "projections": list(LORA_PROJECTIONS)}


def write_adapter(out_dir: Path, shape: Shape, *, rank: int, num_layers: int, seed: int) -> Path:
    """An mlx-lm adapter folder (adapter_config.json + adapters.safetensors), written atomically."""
    import mlx.core as mx
    from mlx_lm.lora import CONFIG_DEFAULTS
    from mlx_lm.utils import save_config

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        config = {
            **CONFIG_DEFAULTS,
            "model": shape.name,
            "train": True,
            "fine_tune_type": "lora",
            "adapter_path": str(out_dir),
            "seed": seed,
            "num_layers": num_layers,
            # No "keys": mlx-lm's default, LoRA on every linear layer of the converted blocks.
            "lora_parameters": {"rank": rank, "dropout": 0.0, "scale": 20.0},
        }
        save_config(config, staging / "adapter_config.json")
        weights = adapter_weights(shape, rank=rank, num_layers=num_layers, seed=seed)
        mx.save_safetensors(str(staging / "adapters.safetensors"), weights)
        _write_json(staging / ADAPTER_MARKER, _adapter_marker(shape, rank, num_layers, seed))
        _replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def ensure_adapters(shape: Shape | str, count: int, *, rank: int = 8, num_layers: int = 8,
                    cache_dir: Path = CACHE_DIR) -> list[Path]:
    """``count`` cached adapters for ``shape`` (``bench_v1``...), each with its own weights."""
    shape = get_shape(shape) if isinstance(shape, str) else shape
    num_layers = min(num_layers, shape.num_layers)
    root = Path(cache_dir) / shape.name / "adapters"
    paths = []
    for i in range(count):
        path = root / adapter_name(i)
        seed = 1000 + i
        complete = (path / "adapter_config.json").is_file() and (path / "adapters.safetensors").is_file()
        if not complete or _read_json(path / ADAPTER_MARKER) != _adapter_marker(shape, rank,
                                                                               num_layers, seed):
            write_adapter(path, shape, rank=rank, num_layers=num_layers, seed=seed)
        paths.append(path)
    return paths


def adapter_nbytes(path: Path) -> int:
    """Sum of the array sizes in an adapter's ``adapters.safetensors``."""
    import mlx.core as mx

    return sum(int(a.nbytes) for a in mx.load(str(Path(path) / "adapters.safetensors")).values())


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build the benchmark's shaped random models.")
    parser.add_argument("shapes", nargs="*", default=["qwen2.5-3b-shape", "qwen2.5-0.5b-shape"],
                        choices=list(SHAPES))
    parser.add_argument("--adapters", type=int, default=8)
    parser.add_argument("--cache", type=Path, default=CACHE_DIR)
    args = parser.parse_args(argv)
    for name in args.shapes:
        path = ensure_model(name, cache_dir=args.cache)
        adapters = ensure_adapters(name, args.adapters, cache_dir=args.cache)
        print(f"{name}: {path} + {len(adapters)} adapters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
