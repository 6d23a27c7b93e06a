"""Turning a generator's answer into a checked user/assistant sample, and the de-duplication key.

Models wrap JSON in ```json fences, add a sentence before or after it, or put raw newlines
inside strings; all of that is tolerated. What is not: no JSON object, a missing or empty
turn, and (for code categories) a ```python block that does not parse.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import unicodedata
from enum import StrEnum
from typing import Any

import attrs

from evotr.application.datagen.config import ValidationRules
from evotr.domain.errors import EvoTrError
from evotr.domain.text import fold


class RejectReason(StrEnum):
    """Why a generated answer was not kept."""

    BAD_JSON = "bad_json"
    MISSING_FIELD = "missing_field"
    EMPTY_TURN = "empty_turn"
    PYTHON_SYNTAX = "python_syntax"
    NO_CODE_BLOCK = "no_code_block"
    DUPLICATE = "duplicate"
    REJECTED_BY_API = "rejected_by_api"


class SampleRejectedError(EvoTrError):
    """An answer failed a check; ``reason`` is what the run summary counts."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@attrs.frozen(slots=True)
class ParsedSample:
    """The two turns of a sample that passed every check."""

    user: str
    assistant: str


_PYTHON_BLOCK_RE = re.compile(r"```[ \t]*(?:python3?|py)[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
# strict=False admits raw newlines and tabs inside strings, which models often emit.
_DECODER = json.JSONDecoder(strict=False)


def _find_object(text: str) -> dict[str, Any]:
    """The first JSON object with a "user" or "assistant" key, else the first object at all.

    A one-object list counts as its object. Prose and ```json fences around the JSON are skipped
    by scanning for the first decodable value, never by editing the text: fences inside the
    strings (code blocks in the assistant turn) must survive.
    """
    first: dict[str, Any] | None = None
    candidate = text
    position = 0
    while (start := _next_opening(candidate, position)) >= 0:
        try:
            value, end = _DECODER.raw_decode(candidate, start)
        except ValueError:
            position = start + 1
            continue
        position = end  # never re-read the inside of a decoded value
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, dict):
            if "user" in value or "assistant" in value:
                return value
            first = first if first is not None else value
    if first is None:
        raise SampleRejectedError(RejectReason.BAD_JSON, "no JSON object found in the answer")
    return first


def _next_opening(text: str, position: int) -> int:
    found = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
    return min(found) if found else -1


def _turn(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        found = "missing" if value is None else f"a {type(value).__name__}, not text"
        raise SampleRejectedError(RejectReason.MISSING_FIELD, f'"{key}" is {found}')
    if not value.strip():
        raise SampleRejectedError(RejectReason.EMPTY_TURN, f'"{key}" is empty')
    return value.strip()


def python_blocks(text: str) -> list[str]:
    """The bodies of every ```python (or ```py) fenced block in ``text``."""
    return _PYTHON_BLOCK_RE.findall(text)


def check_python(text: str, *, require_block: bool = False) -> None:
    """Raise SampleRejectedError unless every ```python block of ``text`` parses."""
    blocks = python_blocks(text)
    if require_block and not blocks:
        raise SampleRejectedError(RejectReason.NO_CODE_BLOCK, "the answer has no ```python block")
    for number, block in enumerate(blocks, start=1):
        try:
            ast.parse(block)
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            where = f" line {line}" if line else ""
            raise SampleRejectedError(
                RejectReason.PYTHON_SYNTAX, f"python block {number}{where}: {getattr(exc, 'msg', exc)}"
            ) from None


def parse_answer(text: str, rules: ValidationRules | None = None) -> ParsedSample:
    """Extract and check the sample in a model answer; SampleRejectedError says why not."""
    rules = rules or ValidationRules()
    data = _find_object(text)
    sample = ParsedSample(_turn(data, "user"), _turn(data, "assistant"))
    if rules.python_code or rules.require_code_block:
        check_python(sample.assistant, require_block=rules.require_code_block)
    return sample


def normalise_user(text: str) -> str:
    """The de-duplication form: folded Turkish, no punctuation, single spaces."""
    folded = fold(text)
    no_punct = "".join(" " if unicodedata.category(c).startswith("P") else c for c in folded)
    return " ".join(no_punct.split())


def user_hash(text: str) -> str:
    """sha256 of the normalised user turn: two questions differing only in case,
    diacritics, punctuation or spacing get the same key."""
    return hashlib.sha256(normalise_user(text).encode("utf-8")).hexdigest()
