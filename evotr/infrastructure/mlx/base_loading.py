"""Loading a base model for training, with the tokenizer read once per process.

mlx-lm's ``load`` builds the Hugging Face tokenizer from ``tokenizer.json`` each time: for Gemma 3
270M (a 33 MB file, 262,144 tokens) that is ~3.5 s on the 2-core CPU. `evotr demo` and
`feedback train` load the same base model four or five times in one process (each adapter's
training, SFT, DPO, the resident model); the weights must be fresh each time (training changes
the module tree), the tokenizer need not be: it is read-only here (mlx-lm hands every generation
its own copy of the streaming detokenizer). The cache is keyed by the folder and the size and
modification time of its tokenizer files, so a changed tokenizer is read again.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

_TOKENIZER_FILES = (".json", ".model", ".jinja", ".txt", ".tiktoken", ".jsonl")
_lock = threading.Lock()
_tokenizers: dict[tuple[object, ...], Any] = {}
_MAX = 4


def _key(folder: Path, eos: object) -> tuple[object, ...]:
    files = sorted(p for p in folder.iterdir()
                   if p.suffix in _TOKENIZER_FILES and not p.name.startswith("model.safetensors"))
    return (str(folder.resolve()), repr(eos),
            tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files))


def _remember(folder: Path, eos: object, tokenizer: Any) -> None:
    key = _key(Path(folder), eos)
    with _lock:
        _tokenizers.pop(key, None)
        _tokenizers[key] = tokenizer
        while len(_tokenizers) > _MAX:
            _tokenizers.pop(next(iter(_tokenizers)))


def load_base(path: str, *, trust_remote_code: bool = False) -> tuple[Any, Any]:
    """(model, tokenizer) as ``mlx_lm.load(path)`` gives them for a local folder; the tokenizer
    may be shared with earlier loads of the same folder."""
    from mlx_lm import utils

    folder = Path(path)
    if not folder.is_dir():  # mlx-lm would take it for a hub id; nothing here reaches a hub
        raise FileNotFoundError(f"no model folder at {path}")
    mlx_utils: Any = utils
    model, config = mlx_utils.load_model(folder, trust_remote_code=trust_remote_code)
    eos = config.get("eos_token_id", None)
    key = _key(folder, eos)
    with _lock:
        tokenizer = _tokenizers.get(key)
    if tokenizer is None:
        tokenizer = mlx_utils.load_tokenizer(folder, None, eos_token_ids=eos)
        _remember(folder, eos, tokenizer)
    return model, tokenizer
