"""Parsing model answers into samples, their checks, and the de-duplication key."""

from __future__ import annotations

import json

import pytest

from evotr.application.datagen import (
    RejectReason,
    SampleRejectedError,
    ValidationRules,
    normalise_user,
    parse_answer,
    user_hash,
)

pytestmark = pytest.mark.unit

SAMPLE = {"user": "Liste nasıl sıralanır?", "assistant": "`sorted(liste)` kullan."}
CODE = ValidationRules(python_code=True)


def reason_of(text: str, rules: ValidationRules | None = None) -> RejectReason:
    with pytest.raises(SampleRejectedError) as caught:
        parse_answer(text, rules)
    return caught.value.reason


@pytest.mark.parametrize("text", [
    json.dumps(SAMPLE, ensure_ascii=False),
    "```json\n" + json.dumps(SAMPLE, ensure_ascii=False) + "\n```",
    "İşte örnek:\n```json\n" + json.dumps(SAMPLE, ensure_ascii=False) + "\n```\nBaşka ister misin?",
    "Not: {bu bir JSON değil} ve [1, 2]\n" + json.dumps(SAMPLE, ensure_ascii=False),
    json.dumps([SAMPLE], ensure_ascii=False),
])
def test_fences_prose_and_lists_around_the_object_are_skipped(text: str) -> None:
    sample = parse_answer(text)
    assert (sample.user, sample.assistant) == (SAMPLE["user"], SAMPLE["assistant"])


def test_raw_newlines_in_strings_and_code_fences_inside_the_turn_survive() -> None:
    text = ('```json\n{"user": "Kod?", "assistant": "Şöyle:\n```python\nx = [3, 1]\n'
            'print(sorted(x))\n```\nBitti."}\n```')
    sample = parse_answer(text, CODE)
    assert "```python\nx = [3, 1]\nprint(sorted(x))\n```" in sample.assistant


def test_turns_are_stripped() -> None:
    assert parse_answer('{"user": "  soru  ", "assistant": "\\n yanıt \\n"}').user == "soru"


@pytest.mark.parametrize("text", ["", "Üzgünüm, yardımcı olamam.", '{"user": "yarım', "[1, 2, 3]",
                                  '```json\n{"user": "a", "assistant": }\n```'])
def test_no_json_object_is_bad_json(text: str) -> None:
    assert reason_of(text) is RejectReason.BAD_JSON


@pytest.mark.parametrize("text", ['{"assistant": "yanıt"}', '{"user": "soru"}',
                                  '{"user": ["soru"], "assistant": "yanıt"}',
                                  '{"question": "a", "answer": "b"}'])
def test_missing_or_non_text_turn_is_missing_field(text: str) -> None:
    assert reason_of(text) is RejectReason.MISSING_FIELD


@pytest.mark.parametrize("text", ['{"user": "", "assistant": "yanıt"}',
                                  '{"user": "soru", "assistant": "  \\n "}'])
def test_blank_turn_is_empty_turn(text: str) -> None:
    assert reason_of(text) is RejectReason.EMPTY_TURN


def _coded(code: str) -> str:
    return json.dumps({"user": "Bir fonksiyon yaz", "assistant": f"İşte:\n```python\n{code}\n```"})


def test_python_blocks_must_parse_in_code_categories() -> None:
    assert parse_answer(_coded("def f(x):\n    return x * 2"), CODE).user == "Bir fonksiyon yaz"
    assert reason_of(_coded("def f(x)\n    return x"), CODE) is RejectReason.PYTHON_SYNTAX
    # A second, broken block is caught too, and ```py counts as Python.
    two = json.dumps({"user": "u", "assistant": "```python\nx = 1\n```\n```py\nif True print(1)\n```"})
    assert reason_of(two, CODE) is RejectReason.PYTHON_SYNTAX
    # Other categories do not look at code.
    assert parse_answer(_coded("def f(x)\n    return x")).assistant.startswith("İşte")


def test_code_block_can_be_required() -> None:
    rules = ValidationRules(python_code=True, require_code_block=True)
    assert reason_of(json.dumps(SAMPLE), rules) is RejectReason.NO_CODE_BLOCK
    assert parse_answer(_coded("print('merhaba')"), rules).user


def test_normalisation_folds_case_diacritics_punctuation_and_spaces() -> None:
    assert normalise_user("  İSTANBUL'da   Çay, nasıl?? ") == "istanbul da cay nasil"
    assert user_hash("Nasılsın?") == user_hash("nasilsin")
    assert user_hash("Python'da liste nasıl sıralanır?") == user_hash("python da  LİSTE nasil siralanir")
    assert user_hash("Liste nasıl sıralanır?") != user_hash("Sözlük nasıl sıralanır?")
    assert len(user_hash("x")) == 64
