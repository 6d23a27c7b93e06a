"""Labelled messages for router evaluation: JSONL, one ``{"text": ..., "intent": ...}`` per line."""

from __future__ import annotations

import json
from pathlib import Path

from evotr.domain.errors import EvoTrError
from evotr.domain.intents import ALL_INTENTS, Intent

_KEYS = ("text", "intent")


class RouterDataError(EvoTrError):
    """A labelled-messages file cannot be used; the message starts with ``<path>:<line>:``."""


def read_labelled_jsonl(path: Path) -> list[tuple[str, Intent]]:
    """Every (text, intent) pair of ``path``; blank lines are skipped, anything else is checked."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RouterDataError(f"{path}: cannot read the file ({error.strerror or error})") from None
    try:
        # utf-8-sig: a byte-order mark some editors add is not part of the first line's JSON.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RouterDataError(f"{path}: not valid UTF-8 ({error.reason} at byte {error.start})") from None
    samples = []
    # split("\n"), not splitlines(): U+2028 inside a JSON string is not a line break.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            samples.append(_parse_line(line, f"{path}:{number}"))
    if not samples:
        raise RouterDataError(f"{path}: no samples (expected one JSON object per line)")
    return samples


def _parse_line(line: str, where: str) -> tuple[str, Intent]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise RouterDataError(f"{where}: invalid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise RouterDataError(f"{where}: expected a JSON object with keys \"text\" and \"intent\", "
                              f"got {type(record).__name__}")
    missing = [k for k in _KEYS if k not in record]
    if missing:
        raise RouterDataError(f"{where}: missing key {', '.join(repr(k) for k in missing)}")
    extra = sorted(k for k in record if k not in _KEYS)
    if extra:
        raise RouterDataError(f"{where}: unexpected key {', '.join(repr(k) for k in extra)} "
                              f"(only \"text\" and \"intent\" are allowed)")
    text, intent = record["text"], record["intent"]
    if not isinstance(text, str):
        raise RouterDataError(f"{where}: \"text\" must be a string, got {type(text).__name__}")
    if not text.strip():
        raise RouterDataError(f"{where}: \"text\" is empty")
    valid = ", ".join(i.value for i in ALL_INTENTS)
    if not isinstance(intent, str) or intent not in {i.value for i in ALL_INTENTS}:
        raise RouterDataError(f"{where}: unknown intent {intent!r}; valid intents: {valid}")
    return text, Intent(intent)
