"""EvaluationFiles: evaluation inputs read strictly, every bad line named by file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from evotr.domain.conversation import Role
from evotr.infrastructure.datasets.evaluation_files import EvaluationDataError, EvaluationFiles
from evotr.ports.evaluation_data import EvaluationData

FILES = EvaluationFiles()


def test_satisfies_the_port() -> None:
    assert isinstance(FILES, EvaluationData)


def test_conversations_read_chat_and_completion_rows(tmp_path: Path) -> None:
    (tmp_path / "valid.jsonl").write_text(
        '{"messages": [{"role": "user", "content": "Merhaba"}, {"role": "assistant", "content": "Selam"}]}\n'
        "\n"
        '{"prompt": "2+2?", "completion": "4"}\n', "utf-8")
    assert FILES.is_dataset(tmp_path) and not FILES.is_dataset(tmp_path / "x")
    first, second = FILES.conversations(tmp_path)
    assert [m.role for m in first] == [Role.USER, Role.ASSISTANT] and first[1].content == "Selam"
    assert [m.content for m in second] == ["2+2?", "4"]


@pytest.mark.parametrize(("text", "problem"), [
    ('{"messages": []}\n', ":1: expected"),
    ('{"messages": [{"role": "user", "content": ""}]}\n', ":1: bad message"),
    ('[1, 2]\n', ":1: expected a JSON object"),
    ('{"messages": [{"role": "user", "content": "a"}]}\n{oops\n', ":2: not valid JSON"),
    ("\n\n", ": holds no examples"),
])
def test_bad_validation_lines_name_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "valid.jsonl").write_text(text, "utf-8")
    with pytest.raises(EvaluationDataError, match="valid.jsonl" + problem):
        FILES.conversations(tmp_path)


def test_a_missing_folder_or_valid_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(EvaluationDataError, match="does not exist"):
        FILES.conversations(tmp_path / "nope")
    with pytest.raises(EvaluationDataError, match=r"valid\.jsonl: no such file"):
        FILES.conversations(tmp_path)


def test_prompts_from_text_and_jsonl(tmp_path: Path) -> None:
    text = tmp_path / "prompts.txt"
    text.write_text("# a comment\nMerhaba\n\n  Python nedir?  \n", "utf-8")
    assert FILES.prompts(text) == ["Merhaba", "Python nedir?"]
    jsonl = tmp_path / "prompts.jsonl"
    jsonl.write_text('{"prompt": "Merhaba"}\n{"text": "x"}\n', "utf-8")
    with pytest.raises(EvaluationDataError, match=r"prompts.jsonl:2: 'prompt' must be non-empty text"):
        FILES.prompts(jsonl)
    (tmp_path / "bin.txt").write_bytes(b"ok\n\xff\xfe\n")
    with pytest.raises(EvaluationDataError, match=r"bin.txt:2: not UTF-8"):
        FILES.prompts(tmp_path / "bin.txt")


def test_pairs_keep_their_origin(tmp_path: Path) -> None:
    file = tmp_path / "pairs.jsonl"
    file.write_text('{"prompt": "p", "chosen": "iyi", "rejected": "kötü"}\n', "utf-8")
    [pair] = FILES.pairs(file)
    assert (pair.prompt, pair.chosen, pair.rejected, pair.where) == ("p", "iyi", "kötü", f"{file}:1")
    file.write_text("", "utf-8")
    with pytest.raises(EvaluationDataError, match="holds no preference pairs"):
        FILES.pairs(file)


def test_the_train_split_is_read_on_request_and_named_in_errors(tmp_path: Path) -> None:
    (tmp_path / "valid.jsonl").write_text('{"prompt": "v", "completion": "V"}\n', "utf-8")
    (tmp_path / "train.jsonl").write_text('{"prompt": "t", "completion": "T"}\n{oops\n', "utf-8")
    [valid] = FILES.conversations(tmp_path)
    assert [m.content for m in valid] == ["v", "V"]
    with pytest.raises(EvaluationDataError, match=r"train\.jsonl:2: not valid JSON"):
        FILES.conversations(tmp_path, "train")
    with pytest.raises(ValueError, match="valid or train"):
        FILES.conversations(tmp_path, "test")
