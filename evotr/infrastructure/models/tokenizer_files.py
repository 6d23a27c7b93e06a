"""tokenizer.json, tokenizer_config.json and generation_config.json from a GGUF's ``tokenizer.ggml.*``.

transformers' own GGUF converters build the fast tokenizer (without torch), but they add no BOS
post-processor, and Gemma without BOS degenerates ("France of France of…"); one is added here.
A base Gemma GGUF has no chat template, so Gemma's own is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from evotr.infrastructure.models.errors import ModelImportError
from evotr.infrastructure.models.gguf_file import GgufFile

# Gemma's chat template (as in Google's tokenizer_config.json, text only): a system message is
# folded into the first user turn, the assistant is called "model". It starts with BOS because
# mlx-lm encodes a templated prompt without adding special tokens.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if message['role'] == 'assistant' -%}{%- set role = 'model' -%}"
    "{%- else -%}{%- set role = message['role'] -%}{%- endif -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{{ message['content'] | trim }}"
    "{{ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)
END_OF_TURN = "<end_of_turn>"

_IDS = {"bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id", "pad": "padding_token_id"}


def _tokenizer_dict(gguf: GgufFile) -> dict[str, Any]:
    """The dictionary transformers' ``convert_gguf_tokenizer`` takes (its key names)."""
    tokens = gguf.strings("tokenizer.ggml.tokens")
    if not tokens:
        raise ModelImportError(f"{gguf.path}: the GGUF file has no tokenizer (tokenizer.ggml.tokens); "
                               "use a GGUF that embeds its vocabulary")
    found: dict[str, Any] = {
        "tokenizer_type": gguf.value("tokenizer.ggml.model"),
        "pre_tokenizer_type": gguf.value("tokenizer.ggml.pre"),
        "tokens": tokens,
        "scores": gguf.numbers("tokenizer.ggml.scores"),
        "token_type": [int(t) for t in gguf.numbers("tokenizer.ggml.token_type") or []] or None,
        "merges": gguf.strings("tokenizer.ggml.merges"),
        "precompiled_charsmap": gguf.value("tokenizer.ggml.precompiled_charsmap"),
        "add_prefix_space": gguf.value("tokenizer.ggml.add_space_prefix"),
    }
    for short, key in _IDS.items():
        found[f"{short}_token_id"] = gguf.value(f"tokenizer.ggml.{key}")
    return {key: value for key, value in found.items() if value is not None}


def _convert(architecture: str, tokenizer_dict: dict[str, Any], source: Path) -> Any:
    # transformers warns on import that PyTorch is missing; we need only its tokenizer code.
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import importlib

    try:  # transformers ≥ 5
        module = importlib.import_module("transformers.integrations.gguf.gguf_tokenizer_mapping")
    except ImportError:  # transformers 4.x keeps the same function here
        module = importlib.import_module("transformers.integrations.ggml")
    convert_gguf_tokenizer = module.convert_gguf_tokenizer
    try:
        tokenizer, _ = convert_gguf_tokenizer(architecture, tokenizer_dict)
    except (ValueError, KeyError, TypeError) as exc:
        kind = tokenizer_dict.get("tokenizer_type")
        raise ModelImportError(f"{source}: cannot build a tokenizer of type {kind!r} from the GGUF "
                               f"metadata ({exc}); this tokenizer is not supported") from exc
    return tokenizer


def _add_bos(tokenizer: Any, bos: str, bos_id: int) -> None:
    """Prepend BOS to every encoded text, keeping an existing (byte-level) post-processor."""
    from tokenizers import processors

    template = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1", special_tokens=[(bos, bos_id)])
    existing = tokenizer.post_processor
    if existing is None or isinstance(existing, processors.TemplateProcessing):
        tokenizer.post_processor = template
    else:
        tokenizer.post_processor = processors.Sequence([existing, template])


def write_tokenizer(gguf: GgufFile, architecture: str, out_dir: Path) -> dict[str, int | list[int] | None]:
    """Write the tokenizer files into ``out_dir``; return the special ids config.json should carry."""
    found = _tokenizer_dict(gguf)
    tokens: list[str] = found["tokens"]
    tokenizer = _convert(architecture, found, gguf.path)

    def token(short: str) -> str | None:
        index = found.get(f"{short}_token_id")
        return tokens[int(index)] if index is not None and 0 <= int(index) < len(tokens) else None

    bos, eos = token("bos"), token("eos")
    # llama.cpp adds BOS to a sentencepiece ("llama") vocabulary unless the file says otherwise.
    add_bos = bool(gguf.value("tokenizer.ggml.add_bos_token", found.get("tokenizer_type") == "llama"))
    add_bos = add_bos and bos is not None
    if add_bos:
        _add_bos(tokenizer, str(bos), int(found["bos_token_id"]))
    tokenizer.save(str(out_dir / "tokenizer.json"))

    eos_ids: list[int] = [] if found.get("eos_token_id") is None else [int(found["eos_token_id"])]
    template = gguf.value("tokenizer.chat_template")
    if template is None and architecture == "gemma3":
        template = GEMMA_CHAT_TEMPLATE
    if END_OF_TURN in tokens and architecture == "gemma3":
        eos_ids.append(tokens.index(END_OF_TURN))  # a chat answer ends with <end_of_turn>
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos, "eos_token": eos, "unk_token": token("unk"), "pad_token": token("pad"),
        "add_bos_token": add_bos, "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": int(gguf.arch_value("context_length", 8192)),
    }
    if template is not None:
        config["chat_template"] = template
    _write_json(out_dir / "tokenizer_config.json", config)
    special: dict[str, int | list[int] | None] = {
        "bos_token_id": found.get("bos_token_id"),
        "eos_token_id": eos_ids if len(eos_ids) > 1 else (eos_ids[0] if eos_ids else None),
        "pad_token_id": found.get("pad_token_id"),
    }
    generation = {key: value for key, value in special.items() if value is not None}
    _write_json(out_dir / "generation_config.json", generation)
    return special


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", "utf-8")
