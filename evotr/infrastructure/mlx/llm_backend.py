"""The mlx-lm language model backend: one resident base model, LoRA adapters hot-swapped per call.

The model loads lazily (first use or ``load()``). Registered adapters live in memory as prebuilt
LoRA wrappers; switching puts one adapter's wrappers (or, for the base model, the original
modules) into the model (see ``lora_swap``), never reloads or computes.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evotr.application.errors import AdapterNotRegisteredError
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message
from evotr.domain.sampling import SamplingParams
from evotr.infrastructure.mlx.errors import ModelLoadError
from evotr.infrastructure.mlx.scoring import ScoringMixin
from evotr.ports.llm_backend import LLMBackend

if TYPE_CHECKING:
    from evotr.infrastructure.mlx.lora_swap import LoraSwap

logger = logging.getLogger("evotr.mlx")

# owner/name as the Hugging Face hub spells repository ids; anything else is a local path.
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
# The files mlx-lm itself fetches for a model (config, weights, tokenizer, templates).
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tiktoken.model", "tekken.json")
_HUB_PATTERNS = ["*.json", "model*.safetensors", "*.py", "tokenizer.model", "*.tiktoken",
                 "tiktoken.model", "*.txt", "*.jsonl", "*.jinja"]


def _offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it, but at call time rather than at its import."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _hub_help(model_id: str, reason: str) -> str:
    return (
        f"no local folder {model_id!r} exists and the model could not be fetched from the Hugging "
        f"Face hub ({reason}). Download it on a "
        f"machine with network: `huggingface-cli download {model_id} --local-dir DIR` (newer "
        f"huggingface_hub: `hf download {model_id} --local-dir DIR`), copy DIR here and set "
        "`model.path: DIR` in evotr.yaml (or pass `--model DIR`) to use the local path. "
        "No download at all: `make demo` builds a local model and leaves a home that uses it "
        "(`evotr --home .evotr-demo chat`)."
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _check_model_dir(path: Path, shown: str) -> None:
    """Raise ModelLoadError naming ``shown`` and what is missing unless ``path`` looks like a model."""
    if not path.is_dir():
        raise ModelLoadError(f"model path {shown!r} is not a directory; point model.path at a "
                             "folder holding config.json and *.safetensors weights")
    missing = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    if not any(path.glob("model*.safetensors")):
        missing.append("weights (model*.safetensors)")
    # Without these transformers quietly builds an EMPTY tokenizer and generation fails much later.
    if not any((path / name).is_file() for name in _TOKENIZER_FILES) and not any(path.glob("*.tiktoken")):
        missing.append("tokenizer files (tokenizer.json, tokenizer.model or vocab.json)")
    if missing:
        raise ModelLoadError(
            f"model path {shown!r} is not an MLX model: missing {' and '.join(missing)}. Point "
            "model.path in evotr.yaml (or --model) at a downloaded or converted mlx-lm model folder"
        )


class MlxLLMBackend(ScoringMixin, LLMBackend):
    """LLMBackend on mlx-lm; the model loads on first use (or ``load()``), never at construction.

    On the CPU, bf16/fp16 parameters are cast to float32 after loading (see ``precision``).
    ``register_adapter`` loads the model first if needed, so a registered adapter has been
    checked against the model. Thread-safe: one lock serialises loading, registration,
    switching, each generation step and each scoring call (``loss``/``logprobs``, see ``scoring``).
    """

    def __init__(self, model_path: str, *, trust_remote_code: bool = False) -> None:
        self._model_path = str(model_path)
        self._trust_remote_code = trust_remote_code
        self._model: Any = None
        self._tokenizer: Any = None
        self._swap: LoraSwap | None = None
        self._rows: Any = None  # RowDecoder for one-token steps, where the model allows one
        self._has_template = False
        # Reentrant, so a locked section may call back into locked public methods safely.
        self._lock = threading.RLock()

    @property
    def model_id(self) -> str:
        """The hub id or local path this backend was configured with."""
        return self._model_path

    @property
    def is_loaded(self) -> bool:
        """Whether the model is resident in memory."""
        return self._model is not None

    @property
    def model(self) -> Any:
        """The loaded mlx ``nn.Module`` (loads it if needed)."""
        self.load()
        return self._model

    @property
    def tokenizer(self) -> Any:
        """The mlx-lm ``TokenizerWrapper`` (loads the model if needed)."""
        self.load()
        return self._tokenizer

    def load(self) -> None:
        """Load model and tokenizer once; later calls do nothing. Failures raise ModelLoadError."""
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            path = self._resolve()
            from evotr.infrastructure.mlx import base_loading

            try:
                loaded = base_loading.load_base(str(path), trust_remote_code=self._trust_remote_code)
            except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
                # RuntimeError: MLX's safetensors reader on a truncated or corrupt weights file.
                raise ModelLoadError(
                    f"could not load the model at {str(path)!r}: {_first_line(exc)}. Check that it is a "
                    "complete mlx-lm model folder (config.json, *.safetensors, tokenizer files); "
                    "copy or convert it again if a file is damaged"
                ) from exc
            model, tokenizer = loaded  # the tokenizer is shared with trainings in this process
            if not tokenizer.encode("a"):
                raise ModelLoadError(
                    f"the tokenizer of the model at {str(path)!r} is empty (it turns text into no "
                    "tokens); its tokenizer files are missing or damaged; copy them from the original model"
                )
            from evotr.infrastructure.mlx.lora_swap import LoraSwap
            from evotr.infrastructure.mlx.precision import compute_dtype, float32_on_cpu
            from evotr.infrastructure.mlx.row_decoding import prepare_cpu_decode

            float32_on_cpu(model)
            self._rows = prepare_cpu_decode(model)  # before the swap, so LoRA wraps the sgemv layers
            self._swap = LoraSwap(model, compute_dtype(model))
            self._has_template = bool(getattr(tokenizer, "has_chat_template", False))
            if self._has_template:
                logger.info("loaded %s; prompts use the model's chat template", self._model_path)
            else:
                logger.warning("loaded %s; it has no chat template, prompts fall back to "
                               "plain 'role: content' lines", self._model_path)
            self._tokenizer = tokenizer
            self._model = model

    def register_adapter(self, version: AdapterVersion, path: Path) -> None:
        """Read an mlx-lm adapter folder into memory once and make it switchable.

        Loads the base model first if needed (the fit check needs it); registering again
        replaces the version's weights (it keeps its place in the order). AdapterLoadError,
        naming version and folder, if the folder is unreadable, not ``fine_tune_type: lora``
        or does not fit the model; the registered adapters are then unchanged.
        """
        from evotr.infrastructure.mlx.adapter_folder import read_adapter_folder

        self.load()
        folder = read_adapter_folder(version, path)  # file I/O outside the lock
        with self._lock:
            self._swapper().add(folder)
        logger.info("registered adapter %s from %s (rank %d, %d modules)", version, path,
                    folder.rank, len(folder.modules))

    def registered_adapters(self) -> Sequence[AdapterVersion]:
        """Registered versions in registration order (empty before the model loads)."""
        return [] if self._swap is None else self._swap.registered

    @property
    def active_adapter(self) -> AdapterVersion | None:
        """The adapter the resident model currently computes with (None: base model)."""
        return None if self._swap is None else self._swap.active

    def activate(self, version: AdapterVersion | None) -> None:
        """Switch the resident model to ``version`` (None: base model) in place.

        Costs one module assignment per LoRA slot and nothing when ``version`` is already
        active; ``None`` puts the original modules back, so the base model runs no LoRA code.
        AdapterNotRegisteredError names an unregistered version.
        """
        self.load()
        with self._lock:
            self._swapper().activate(version)

    def _swapper(self) -> LoraSwap:
        assert self._swap is not None, "load() creates the swap"
        return self._swap

    def _resolve(self) -> Path:
        """A local model directory for ``model_path``: as given, or the hub's cached snapshot."""
        local = Path(self._model_path).expanduser()
        if local.exists():
            _check_model_dir(local, self._model_path)
            return local
        if not _HUB_ID_RE.fullmatch(self._model_path):
            raise ModelLoadError(
                f"model path {self._model_path!r} does not exist. Set `model.path` in evotr.yaml "
                "(or --model) to a local mlx-lm model folder or a hub id such as "
                "mlx-community/Qwen2.5-0.5B-Instruct-4bit (or use the demo's home: "
                "`evotr --home .evotr-demo chat`)"
            )
        return self._from_hub(self._model_path)

    def _from_hub(self, model_id: str) -> Path:
        from huggingface_hub import snapshot_download

        offline = _offline()
        # Offline, only the local cache is consulted, so this never waits on the network.
        logger.info("resolving %s from the Hugging Face hub%s", model_id,
                    " cache (HF_HUB_OFFLINE)" if offline else "")
        try:
            found = snapshot_download(model_id, allow_patterns=_HUB_PATTERNS,
                                      local_files_only=offline, etag_timeout=10)
            snapshot = Path(str(found))
        except Exception as exc:  # hub errors are many (offline, 404, auth, DNS); all mean the same
            detail = (str(exc).strip().splitlines() or [""])[0][:160]
            reason = ("HF_HUB_OFFLINE is set and it is not in the local cache" if offline
                      else f"{type(exc).__name__}: {detail}".rstrip(": "))
            raise ModelLoadError(_hub_help(model_id, reason)) from exc
        _check_model_dir(snapshot, f"{model_id} ({snapshot})")
        return snapshot

    def _prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        tokenizer = self.tokenizer
        if self._has_template:
            ids = tokenizer.apply_chat_template([m.as_dict() for m in messages],
                                                add_generation_prompt=True)
            return [int(i) for i in ids]
        # Base models without a template still get a prompt they can continue.
        text = "\n".join(f"{m.role.value}: {m.content}" for m in messages) + "\nassistant:"
        return [int(i) for i in tokenizer.encode(text)]

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Prompt tokens of ``messages`` with the chat template and the generation prompt."""
        return len(self._prompt_ids(messages))

    def stream(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        adapter: AdapterVersion | None = None,
    ) -> Iterator[str]:
        """Yield reply text pieces computed with ``adapter`` (None: base model).

        Errors (model, unregistered adapter) are raised here, not on the first ``next``.
        """
        self.load()
        if adapter is not None and adapter not in self.registered_adapters():
            raise AdapterNotRegisteredError(adapter, self.registered_adapters())
        prompt = self._prompt_ids(messages)
        return self._generate_pieces(prompt, params, adapter)

    def _generate_pieces(
        self, prompt: list[int], params: SamplingParams, adapter: AdapterVersion | None
    ) -> Iterator[str]:
        import mlx.core as mx
        from mlx_lm import stream_generate
        from mlx_lm.sample_utils import make_sampler

        from evotr.infrastructure.mlx.row_decoding import for_generation

        sampler = make_sampler(temp=params.temperature, top_p=params.top_p)
        if params.seed is not None:
            # Sampling draws from MLX's global generator; seeding it makes the reply repeatable.
            mx.random.seed(params.seed)
        # No prompt_cache is passed: stream_generate builds a fresh KV cache for this call, so
        # a cache filled under one adapter is never reused under another. Keep it that way.
        steps = stream_generate(for_generation(self._model, self._rows), self._tokenizer, prompt,
                                max_tokens=params.max_tokens, sampler=sampler)
        try:
            while True:
                # Each step (re)activates this call's adapter under the lock, so interleaved
                # streams (threads, or two generators in one thread) each compute with their
                # own adapter; the lock is never held while the caller consumes a piece.
                with self._lock:
                    self._swapper().activate(adapter)
                    response = next(steps, None)
                if response is None:
                    return
                if response.text:
                    yield response.text
        finally:
            with self._lock:
                steps.close()
