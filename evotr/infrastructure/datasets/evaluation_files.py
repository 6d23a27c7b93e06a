"""EvaluationData on files: mlx-lm dataset folders, prompt lists and preference-pair JSONL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evotr.domain.conversation import Message
from evotr.domain.errors import DomainValidationError, EvoTrError
from evotr.domain.evaluation import PreferencePair
from evotr.infrastructure.datasets.jsonl_lines import decode_line
from evotr.ports.evaluation_data import EvaluationData

VALID_FILE = "valid.jsonl"
_PAIR_KEYS = ("prompt", "chosen", "rejected")


class EvaluationDataError(EvoTrError):
    """An evaluation input is missing or malformed; the message names the file (and line)."""


def _read_lines(file: Path, what: str) -> list[bytes]:
    if not file.is_file():
        raise EvaluationDataError(f"{file}: no such file ({what})")
    try:
        return file.read_bytes().split(b"\n")
    except OSError as exc:
        raise EvaluationDataError(f"{file}: cannot be read ({exc.strerror or exc})") from exc


def _objects(file: Path, what: str) -> Iterator[tuple[str, dict[str, object]]]:
    """``(file:line, object)`` for every non-blank line; EvaluationDataError on a bad line."""
    for number, line in enumerate(_read_lines(file, what), start=1):
        if not line.strip():
            continue
        data, problem = decode_line(line)
        if data is None:
            raise EvaluationDataError(f"{file}:{number}: {problem}")
        yield f"{file}:{number}", data


def _text(data: dict[str, object], key: str, where: str, shape: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EvaluationDataError(f"{where}: {key!r} must be non-empty text; expected {shape}")
    return value


def _conversation(data: dict[str, object], where: str) -> tuple[Message, ...]:
    """A chat row (``messages``) or a completions row (``prompt``/``completion``), as mlx-lm reads them."""
    shape = '{"messages": [{"role": ..., "content": ...}, ...]}'
    if "prompt" in data and "completion" in data:
        rows: object = [{"role": "user", "content": data["prompt"]},
                        {"role": "assistant", "content": data["completion"]}]
    else:
        rows = data.get("messages")
    if not isinstance(rows, list) or not rows:
        raise EvaluationDataError(f"{where}: expected {shape}")
    messages = []
    for row in rows:
        if not isinstance(row, dict):
            raise EvaluationDataError(f"{where}: every message must be an object; expected {shape}")
        try:
            role: Any = row.get("role")
            content: Any = row.get("content")
            messages.append(Message(role, content))
        except (ValueError, DomainValidationError) as exc:
            raise EvaluationDataError(f"{where}: bad message {row!r:.80}: {exc}") from exc
    return tuple(messages)


class EvaluationFiles(EvaluationData):
    """Reads evaluation inputs from the filesystem; blank lines are skipped, anything else bad is an error."""

    def is_dataset(self, folder: Path) -> bool:
        """Whether ``folder/valid.jsonl`` is a file."""
        return (Path(folder) / VALID_FILE).is_file()

    def conversations(self, folder: Path, split: str = "valid") -> list[tuple[Message, ...]]:
        """Every conversation of ``folder/<split>.jsonl`` (valid or train), in file order."""
        if split not in ("valid", "train"):
            raise ValueError(f"split must be valid or train, got {split!r}")
        folder = Path(folder)
        if not folder.is_dir():
            raise EvaluationDataError(f"data folder {folder} does not exist; give an mlx-lm chat dataset "
                                      f"folder holding {VALID_FILE} (e.g. `evotr data prepare` output)")
        file = folder / f"{split}.jsonl"
        what = "the validation split" if split == "valid" else "the training split"
        found = [_conversation(data, where) for where, data in _objects(file, what)]
        if not found:
            raise EvaluationDataError(f"{file}: holds no examples")
        return found

    def prompts(self, file: Path) -> list[str]:
        """Text: every non-blank line not starting with ``#``. ``.jsonl``: each line's ``prompt``."""
        file = Path(file)
        if file.suffix == ".jsonl":
            shape = '{"prompt": "..."}'
            found = [_text(data, "prompt", where, shape) for where, data in _objects(file, "prompts")]
        else:
            found = []
            for number, raw in enumerate(_read_lines(file, "prompts"), start=1):
                try:
                    line = raw.decode("utf-8").strip()
                except UnicodeDecodeError as exc:
                    raise EvaluationDataError(f"{file}:{number}: not UTF-8 ({exc.reason})") from exc
                if line and not line.startswith("#"):
                    found.append(line)
        if not found:
            raise EvaluationDataError(f"{file}: holds no prompts")
        return found

    def pairs(self, file: Path) -> list[PreferencePair]:
        """One PreferencePair per line, ``where`` set to its ``file:line``."""
        file = Path(file)
        shape = '{"prompt": ..., "chosen": ..., "rejected": ...}'
        found = []
        for where, data in _objects(file, "preference pairs"):
            prompt, chosen, rejected = (_text(data, key, where, shape) for key in _PAIR_KEYS)
            found.append(PreferencePair(prompt, chosen, rejected, where=where))
        if not found:
            raise EvaluationDataError(f"{file}: holds no preference pairs")
        return found
