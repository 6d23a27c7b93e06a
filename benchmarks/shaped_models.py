"""Random-weight Qwen2 models shaped like real checkpoints (their adapters: ``shaped_adapters``).

The models are what ``mlx_lm.convert -q`` writes for Qwen2.5 (4-bit affine, group size 64,
bf16 scales/biases/norms, tied embeddings), or with ``precision="bf16"`` the unquantized bf16
checkpoint, so loading, adapter switching and decoding cost what they cost on the real thing;
only the numbers inside are noise. The tokenizer is the tiny
model's small byte-level BPE (``evotr.infrastructure.mlx.tiny_model``): every id the model can
emit beyond it detokenizes to a placeholder, which is all a benchmark needs.

Everything is built offline, seeded, layer by layer (peak memory is about one layer in bf16 plus
the quantized model), into ``benchmarks/.cache/<shape>/`` and reused while complete; running this
file builds the models and their adapters::

    python benchmarks/shaped_models.py qwen2.5-3b-shape qwen2.5-0.5b-shape
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

# benchmarks/ is not a package: its modules import each other by name, also when this file is
# loaded by path (importlib) rather than run as a script.
_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import read_json, staged_dir, write_json  # noqa: E402
from model_shapes import BITS, CACHE_DIR, FORMAT_VERSION, GROUP_SIZE, SHAPES, Shape, get_shape  # noqa: E402
from shaped_adapters import ensure_adapters  # noqa: E402

MARKER = "evotr_shaped_model.json"
PRECISIONS = ("4bit", "bf16")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "generation_config.json")


def _precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise SystemExit(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    return precision


def model_dir(shape: Shape | str, cache_dir: Path = CACHE_DIR, precision: str = "4bit") -> Path:
    """Where the cached model for ``shape`` (in ``precision``) lives."""
    name = "model" if _precision(precision) == "4bit" else f"model-{precision}"
    return Path(cache_dir) / get_shape(shape).name / name


def _marker(shape: Shape, seed: int, precision: str = "4bit") -> dict[str, Any]:
    if precision == "4bit":  # unchanged since FORMAT_VERSION 1: cached 4-bit models stay valid
        return {"format": FORMAT_VERSION, "seed": seed, "shape": asdict(shape),
                "quantization": {"group_size": GROUP_SIZE, "bits": BITS}}
    return {"format": FORMAT_VERSION, "seed": seed, "shape": asdict(shape), "precision": precision}


def is_complete_model(out_dir: Path, shape: Shape, seed: int, precision: str = "4bit") -> bool:
    """Whether ``out_dir`` holds a whole model of this shape and seed (its marker is written last)."""
    out_dir = Path(out_dir)
    required = ("config.json", "model.safetensors.index.json", *TOKENIZER_FILES)
    if not all((out_dir / name).is_file() for name in required):
        return False
    if not any(out_dir.glob("model*.safetensors")):
        return False
    return read_json(out_dir / MARKER) == _marker(shape, seed, precision)


def _model_config(shape: Shape, tokenizer_config: dict[str, Any], precision: str) -> dict[str, Any]:
    """config.json as mlx-community's Qwen2.5 conversions (4-bit or bf16) have it."""
    config = {
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
    if precision != "4bit":
        del config["quantization"]
    return config


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


def _random_model(shape: Shape, config: dict[str, Any], seed: int) -> Any:
    """The qwen2 model of ``config`` with seeded random weights, quantized if it says so, evaluated."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx_lm.models import qwen2

    model_config = {k: v for k, v in config.items() if k != "quantization"}
    # Constructing the model only records lazy initialisers; nothing is allocated until a
    # parameter is evaluated, and every one is replaced before that.
    model = qwen2.Model(qwen2.ModelArgs.from_dict(model_config))
    keys = mx.random.split(mx.random.key(seed), shape.num_layers + 2)
    quantized = "quantization" in config

    def quantize_child(parent: Any, child: str, key: Any) -> None:
        # nn.quantize replaces children, never the module it is given, so quantize a leaf
        # (embedding, lm_head) through its parent.
        _random_module(getattr(parent, child), key)
        if quantized:
            nn.quantize(parent, group_size=GROUP_SIZE, bits=BITS,
                        class_predicate=lambda path, m: path == child)
        mx.eval(getattr(parent, child).parameters())

    # The embedding first (the largest single array), then one block at a time: each is
    # drawn in bf16, quantized and evaluated before the next, so only one is ever in bf16.
    quantize_child(model.model, "embed_tokens", keys[0])
    for i, layer in enumerate(model.model.layers):
        _random_module(layer, keys[i + 1])
        if quantized:
            nn.quantize(layer, group_size=GROUP_SIZE, bits=BITS)
        mx.eval(layer.parameters())
    _random_module(model.model.norm, keys[-1])
    if not shape.tie_word_embeddings:
        quantize_child(model, "lm_head", keys[-1])
    mx.eval(model.parameters())
    return model


def build_model(shape: Shape | str, out_dir: Path | None = None, *, seed: int = 0,
                cache_dir: Path = CACHE_DIR, verbose: bool = True, precision: str = "4bit") -> Path:
    """Build the random model for ``shape`` (4-bit or bf16) into ``out_dir`` (replacing it)."""
    from mlx_lm.utils import save_config, save_model

    shape = get_shape(shape)
    out_dir = Path(out_dir) if out_dir is not None else model_dir(shape, cache_dir, precision)
    start = time.perf_counter()
    with staged_dir(out_dir) as staging:
        config = _model_config(shape, _tokenizer_into(staging), _precision(precision))
        model = _random_model(shape, config, seed)
        save_model(staging, model)
        del model
        save_config(dict(config), config_path=staging / "config.json")
        # The marker goes last: a directory with it was written completely.
        write_json(_marker(shape, seed, precision), staging / MARKER)
    if verbose:
        size = sum(p.stat().st_size for p in out_dir.glob("model*.safetensors"))
        print(f"built {shape.name} ({precision}) in {time.perf_counter() - start:.1f} s "
              f"({size / 2**20:.0f} MiB of weights) -> {out_dir}", flush=True)
    return out_dir


def ensure_model(shape: Shape | str, *, seed: int = 0, cache_dir: Path = CACHE_DIR,
                 verbose: bool = True, precision: str = "4bit") -> Path:
    """The cached model for ``shape`` in ``precision``; built only if missing or incomplete."""
    shape = get_shape(shape)
    out_dir = model_dir(shape, cache_dir, precision)
    if is_complete_model(out_dir, shape, seed, precision):
        return out_dir
    return build_model(shape, out_dir, seed=seed, cache_dir=cache_dir, verbose=verbose,
                       precision=precision)


def main(argv: list[str] | None = None) -> int:
    """Build (or find cached) the models and adapters of the shapes named on the command line."""
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
