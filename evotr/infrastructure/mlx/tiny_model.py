"""Build a tiny random Qwen2 model with a real byte-level BPE tokenizer, offline, in about a second.

The model is useless for answers but loads with stock ``mlx_lm.load`` and exercises the whole
pipeline (chat template, tokenizer, generation, later LoRA) in tests and ``evotr demo`` without
any download.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from evotr.infrastructure.filesystem.atomic import replace_dir
from evotr.infrastructure.mlx.tiny_corpus import CORPUS

_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
_MARKER = "evotr_tiny_model.json"
_QWEN2_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"""
    r"""|\s+(?!\S)|\s+"""
)
_REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", _MARKER)
# Bump when the build changes so ensure_tiny_model rebuilds older outputs.
_FORMAT_VERSION = 1

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{%- endif -%}"
)
"""Qwen-style ChatML: ``<|im_start|>role\\ncontent<|im_end|>\\n`` per message."""


def _train_tokenizer(vocab_size: int) -> Any:
    """A byte-level BPE like Qwen's: every byte is encodable, so any text round-trips."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    # Qwen2's own split regex: transformers rebuilds Qwen2 tokenizers with it, so training with
    # the same one keeps tokenizer.json and the loaded tokenizer in agreement.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=list(_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Repeating the corpus does not change merges but keeps pair counts well above ties.
    tokenizer.train_from_iterator(list(CORPUS) * 2, trainer)
    return tokenizer


def _tokenizer_files(special_ids: dict[str, int]) -> dict[str, dict[str, Any]]:
    added = {
        str(idx): {"content": tok, "lstrip": False, "normalized": False, "rstrip": False,
                   "single_word": False, "special": True}
        for tok, idx in special_ids.items()
    }
    tokenizer_config = {
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 2048,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": None,
    }
    special_tokens_map = {
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
    }
    generation_config = {
        "bos_token_id": special_ids["<|endoftext|>"],
        "eos_token_id": [special_ids["<|im_end|>"], special_ids["<|endoftext|>"]],
        "pad_token_id": special_ids["<|endoftext|>"],
    }
    return {
        "tokenizer_config.json": tokenizer_config,
        "special_tokens_map.json": special_tokens_map,
        "generation_config.json": generation_config,
    }


def _model_config(
    vocab: int, hidden_size: int, num_layers: int, num_heads: int, num_kv_heads: int,
    intermediate_size: int, special_ids: dict[str, int],
) -> dict[str, Any]:
    return {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_act": "silu",
        "hidden_size": hidden_size,
        "intermediate_size": intermediate_size,
        "num_hidden_layers": num_layers,
        "num_attention_heads": num_heads,
        "num_key_value_heads": num_kv_heads,
        "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_sliding_window": False,
        "vocab_size": vocab,
        "bos_token_id": special_ids["<|endoftext|>"],
        "eos_token_id": special_ids["<|im_end|>"],
    }


def _randomise(model: Any, seed: int) -> None:
    """Give every parameter fresh values from a key derived from ``seed`` only.

    Layer constructors draw from MLX's global generator, whose state depends on what ran
    before; re-drawing each parameter in sorted-name order from our own key makes the weights
    a function of the seed alone, without touching the caller's global random state.
    """
    import mlx.core as mx
    from mlx.utils import tree_flatten, tree_unflatten

    flat: list[tuple[str, Any]] = tree_flatten(model.parameters())  # type: ignore[assignment]
    params = sorted(flat, key=lambda item: item[0])
    keys = mx.random.split(mx.random.key(seed), len(params))
    new: list[tuple[str, Any]] = []
    for i, (name, value) in enumerate(params):
        if name.endswith("norm.weight"):
            new.append((name, mx.ones(value.shape, dtype=mx.float32)))
        else:
            new.append((name, 0.02 * mx.random.normal(value.shape, dtype=mx.float32, key=keys[i])))
    model.update(tree_unflatten(new))
    mx.eval(model.parameters())


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", "utf-8")


def build_tiny_model(
    out_dir: Path,
    *,
    seed: int = 0,
    vocab_size: int = 512,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int = 2,
    intermediate_size: int = 128,
) -> Path:
    """Build the tiny model into ``out_dir`` (replacing it) and return ``out_dir``.

    The same arguments give byte-identical ``model.safetensors`` and ``tokenizer.json``. The
    directory appears complete or not at all: it is built beside ``out_dir`` and renamed.
    """
    from mlx_lm.models import qwen2
    from mlx_lm.utils import save_config, save_model

    out_dir = Path(out_dir)
    if hidden_size % num_heads or num_heads % num_kv_heads:
        raise ValueError("hidden_size must divide by num_heads and num_heads by num_kv_heads")
    tokenizer = _train_tokenizer(vocab_size)
    special_ids = {tok: tokenizer.token_to_id(tok) for tok in _SPECIAL_TOKENS}
    # The config must match the tokenizer's real size, which can fall short of the request.
    config = _model_config(tokenizer.get_vocab_size(), hidden_size, num_layers, num_heads,
                           num_kv_heads, intermediate_size, special_ids)
    model_args: Any = qwen2.ModelArgs  # mlx-lm is untyped; keep mypy from following it
    model = qwen2.Model(model_args.from_dict(config))
    _randomise(model, seed)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        save_model(staging, model)
        save_config(dict(config), config_path=staging / "config.json")
        tokenizer.save(str(staging / "tokenizer.json"))
        for name, data in _tokenizer_files(special_ids).items():
            _write_json(staging / name, data)
        marker = {"format": _FORMAT_VERSION, "seed": seed, "vocab_size": config["vocab_size"],
                  "hidden_size": hidden_size, "num_layers": num_layers}
        # The marker goes last: a directory with it was written completely.
        _write_json(staging / _MARKER, marker)
        replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir



def is_tiny_model(out_dir: Path, *, seed: int | None = None) -> bool:
    """True if ``out_dir`` holds a complete tiny model (built with ``seed``, if given)."""
    out_dir = Path(out_dir)
    if not all((out_dir / name).is_file() for name in _REQUIRED):
        return False
    try:
        marker = json.loads((out_dir / _MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("format") != _FORMAT_VERSION:
        return False
    return seed is None or marker.get("seed") == seed


def ensure_tiny_model(out_dir: Path, seed: int = 0) -> Path:
    """Return ``out_dir`` holding the tiny model for ``seed``; build only if missing or incomplete."""
    out_dir = Path(out_dir)
    if is_tiny_model(out_dir, seed=seed):
        return out_dir
    return build_tiny_model(out_dir, seed=seed)


def main(argv: list[str] | None = None) -> int:
    """``python -m evotr.infrastructure.mlx.tiny_model OUT_DIR [--seed N]``."""
    import argparse

    parser = argparse.ArgumentParser(description="Build the tiny random Qwen2 test model.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = build_tiny_model(args.out_dir, seed=args.seed)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
