"""`evotr data prepare` on the tiny model's tokenizer: output that mlx-lm's own loader accepts."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterVersion
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.filesystem.adapter_store import FilesystemAdapterStore
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from evotr.infrastructure.mlx.training_inputs import check_chat_jsonl
from tests.adapter_fixtures import write_fake_mlx_adapter

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MAX_SEQ = 400


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture
def home(tmp_path: Path, tiny: Path) -> Path:
    """A home whose LLM is the tiny mlx model (its tokenizer counts the tokens)."""
    home = tmp_path / "home"
    home.mkdir()
    text = (REPO / "configs" / "evotr.yaml").read_text("utf-8")
    text = text.replace("path: mlx-community/Qwen2.5-3B-Instruct-4bit", f"path: {tiny}")
    text = text.replace("intents_file: intents.yaml", f"intents_file: {REPO / 'configs' / 'intents.yaml'}")
    assert str(tiny) in text and "  llm: mlx " in text
    (home / "evotr.yaml").write_text(text, "utf-8")
    return home


def cli(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), "data", *args])
    return result.exit_code, result.stdout, result.stderr


def add_run(home: Path, category: str, run_id: str, rows: list[dict[str, object]], tail: bytes = b"") -> Path:
    folder = home / "data" / "generated" / category
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.jsonl"
    path.write_bytes(b"".join((json.dumps(r, ensure_ascii=False) + "\n").encode() for r in rows) + tail)
    return path


def sample(n: int, assistant: str = "Kısa bir yanıt.", user: str | None = None) -> dict[str, object]:
    return {"id": f"run-{n:05d}", "category": "history", "topic": "t", "model": "m", "created_at": "x",
            "usage": {}, "messages": [{"role": "user", "content": user or f"Osmanlı sorusu {n}?"},
                                      {"role": "assistant", "content": assistant}]}


def load_with_mlx_lm(folder: Path, tiny: Path) -> tuple[object, object]:
    import mlx_lm
    from mlx_lm.tuner.datasets import load_dataset

    tokenizer = mlx_lm.load(str(tiny))[1]
    # The namespace mlx_lm.lora builds from its CLI flags (the fields load_dataset reads).
    args = types.SimpleNamespace(data=str(folder), train=True, test=False, hf_dataset=False,
                                 mask_prompt=False)
    train, valid, _ = load_dataset(args, tokenizer)
    return train, valid


def test_prepare_writes_what_mlx_lm_loads_and_drops_too_long(home: Path, tiny: Path) -> None:
    code, _, err = cli(home, "generate", "--category", "history", "--count", "30", "--backend", "memory")
    assert code == 0, err
    long_one = sample(900, assistant=" ".join(["uzun"] * 300))
    # 903 repeats 902 up to case, diacritics and punctuation: one of the two is a duplicate.
    add_run(home, "history", "zz-manual", [long_one, sample(902, user="Osmanlı sorusu 902?"),
                                          sample(903, user="OSMANLI sorusu, 902")])
    code, out, err = cli(home, "prepare", "--category", "history", "--name", "hist_v1",
                         "--max-seq-length", str(MAX_SEQ), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["dropped_too_long"], report["duplicates"]) == (1, 1)
    assert report["train"] + report["valid"] == 30 + 1 and report["valid"] >= 1
    folder = home / "data" / "training" / "hist_v1"
    assert sorted(p.name for p in folder.iterdir()) == ["train.jsonl", "valid.jsonl"]
    assert check_chat_jsonl(folder / "train.jsonl") == report["train"]
    assert check_chat_jsonl(folder / "valid.jsonl") == report["valid"]
    train, valid = load_with_mlx_lm(folder, tiny)
    assert (len(train), len(valid)) == (report["train"], report["valid"])  # type: ignore[arg-type]
    for dataset in (train, valid):
        for i in range(len(dataset)):  # type: ignore[arg-type]
            tokens, _ = dataset.process(dataset[i])  # type: ignore[attr-defined]
            assert len(tokens) <= MAX_SEQ
    first = json.loads((folder / "train.jsonl").read_text("utf-8").splitlines()[0])
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]


def test_prepare_is_deterministic_and_can_leave_out_the_system_prompt(home: Path) -> None:
    add_run(home, "science", "r1", [sample(n, user=f"Fizik sorusu {n}") for n in range(40)])
    assert cli(home, "prepare", "--category", "science", "--name", "a")[0] == 0
    code, _, err = cli(home, "prepare", "--category", "science", "--name", "b", "--no-system-prompt")
    assert code == 0, err
    a, b = home / "data" / "training" / "a", home / "data" / "training" / "b"
    for split in ("train", "valid"):
        with_system = [json.loads(line) for line in (a / f"{split}.jsonl").read_text("utf-8").splitlines()]
        without = [json.loads(line) for line in (b / f"{split}.jsonl").read_text("utf-8").splitlines()]
        assert [r["messages"][1:] for r in with_system] == [r["messages"] for r in without]
        assert all(r["messages"][0]["role"] == "user" for r in without)


def test_malformed_line_is_an_error_naming_file_and_line(home: Path) -> None:
    path = add_run(home, "science", "r1", [sample(1), sample(2)])
    path.write_text(path.read_text("utf-8") + "{kırık satır\n" + json.dumps(sample(3)) + "\n", "utf-8")
    code, _, err = cli(home, "prepare", "--category", "science", "--name", "x")
    assert code == 1
    assert f"{path}:3: not valid JSON" in err
    assert not (home / "data" / "training" / "x").exists()


def test_unfinished_last_line_is_skipped_and_counted(home: Path) -> None:
    add_run(home, "science", "r1", [sample(n, user=f"Kimya {n}") for n in range(5)],
            tail=b'{"id": "run-9", "mes')
    code, out, err = cli(home, "prepare", "--category", "science", "--name", "x", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["train"] + report["valid"], report["truncated_lines"]) == (5, 1)


def test_a_dataset_an_adapter_was_trained_on_is_replaced_only_with_force(home: Path, tmp_path: Path) -> None:
    add_run(home, "science", "r1", [sample(n, user=f"Fizik sorusu {n}") for n in range(12)])
    assert cli(home, "prepare", "--category", "science", "--name", "sci")[0] == 0
    folder = home / "data" / "training" / "sci"
    # `evotr train` records the dataset folder it was given in the new version's manifest.
    version = AdapterVersion.parse("tr_chat_v1")
    FilesystemAdapterStore(home / "adapters").add(version, write_fake_mlx_adapter(tmp_path / "run"),
                                                  AdapterManifest(version, "tiny", dataset=str(folder)))
    trained_on = {p.name: p.read_bytes() for p in folder.iterdir()}
    add_run(home, "science", "r2", [sample(n, user=f"Kimya sorusu {n}") for n in range(100, 110)])

    code, _, err = cli(home, "prepare", "--category", "science", "--name", "sci")

    assert code == 1
    assert err == (f"error: dataset 'sci' is the training data of adapter tr_chat_v1 ({folder}) (its "
                   "manifest.json names it); preparing it again would replace what that adapter was trained "
                   "on. Choose another --name, or pass --force to overwrite it\n")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == trained_on
    code, out, err = cli(home, "prepare", "--category", "science", "--name", "sci_more", "--json")
    assert code == 0 and json.loads(out)["train"] + json.loads(out)["valid"] == 22, err
    code, out, err = cli(home, "prepare", "--category", "science", "--name", "sci", "--force", "--json")
    assert code == 0 and json.loads(out)["train"] + json.loads(out)["valid"] == 22, err


@pytest.mark.slow
def test_prepared_data_trains_with_stock_mlx_lm_lora(tmp_path: Path) -> None:
    """The issue's bar: `python -m mlx_lm lora --data <dir>` runs on `evotr data prepare` output unchanged."""
    tiny = ensure_tiny_model(tmp_path / "tiny")
    home = tmp_path / "home"
    runner = CliRunner()
    generated = runner.invoke(main, ["--home", str(home), "data", "generate", "--category", "python_code",
                                     "--count", "24", "--backend", "memory"])
    assert generated.exit_code == 0, generated.output
    prepared = runner.invoke(main, ["--home", str(home), "--model", str(tiny), "data", "prepare",
                                    "--category", "python_code", "--name", "stock", "--valid-ratio", "0.25"])
    assert prepared.exit_code == 0, prepared.output
    data = home / "data" / "training" / "stock"
    out = subprocess.run(
        [sys.executable, "-m", "mlx_lm", "lora", "--model", str(tiny), "--train", "--data", str(data),
         "--iters", "2", "--batch-size", "2", "--num-layers", "2", "--steps-per-eval", "2",
         "--adapter-path", str(tmp_path / "adapter")],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "adapter" / "adapters.safetensors").is_file()
