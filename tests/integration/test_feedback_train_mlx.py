"""`evotr feedback train` end to end on the tiny model with the real MLX trainers and the real gate.

SFT resumes from the active adapter (mlx-lm's resume_adapter_file), the gate measures candidate
and active on ONE resident MlxLLMBackend by hot-swap, and a candidate trained on swapped labels
(the original answers as targets) is refused. The DPO stage runs when the MLX preference
trainer is installed in the container.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evotr.container import Container
from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from tests.compare_fixtures import DATASET, store_adapter, tiny_home, trained_adapter
from tests.fakes.learning import add_judged_turns

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAMILY = AdapterFamily("tr_chat")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("feedback_mlx") / "tiny")


@pytest.fixture(scope="module")
def v1_source(tmp_path_factory: pytest.TempPathFactory, tiny: Path) -> Path:
    from evotr.infrastructure.mlx.tiny_datasets import write_tiny_chat_dataset

    root = tmp_path_factory.mktemp("v1")
    return trained_adapter(root / "adapter", tiny, write_tiny_chat_dataset(root / "data", "tr_chat"))


@pytest.fixture
def home(tmp_path: Path, tiny: Path, v1_source: Path) -> tuple[Path, Container]:
    return make_home(tmp_path, tiny, v1_source, "Adı Pamuk.")


def make_home(tmp_path: Path, tiny: Path, v1_source: Path, correction: str) -> tuple[Path, Container]:
    import shutil

    home = tmp_path / "home"
    container = tiny_home(home, tiny)
    # tr_chat_v1: trained on the home's tiny_tr_chat dataset, active; its valid.jsonl is the regression set.
    store_adapter(container, "tr_chat_v1", shutil.copytree(v1_source, tmp_path / "v1"), dataset=DATASET)
    container.storage.adapter_store().update_registry(lambda r: r.promote(AdapterVersion.parse("tr_chat_v1")))
    # Answers of the same length, so only what the model learned decides which scores higher.
    add_judged_turns(container.storage.feedback_repository(), 12, intent="general_chat",
                     reply="Adı Karabaş.", correction=correction)
    return home, container


def train(home: Path, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["--home", str(home), "feedback", "train", "--family", "tr_chat",
                                       "--json", *args], env={"EVOTR_HOME": None})
    assert result.exit_code == 0, result.output
    [outcome] = json.loads(result.stdout)
    return outcome  # type: ignore[no-any-return]


def test_sft_from_feedback_on_the_tiny_model_wins_the_gate_and_a_swapped_label_candidate_is_refused(
        home: tuple[Path, Container]) -> None:
    folder, container = home
    good = train(folder, "--method", "sft")
    gate = good["gate"]
    assert isinstance(gate, dict)
    assert good["version"] == "tr_chat_v2" and good["promoted"] is True, gate["reasons"]
    config = json.loads((folder / "adapters" / "tr_chat_v2" / "adapter_config.json").read_text("utf-8"))
    assert config["resume_adapter_file"].endswith("tr_chat_v1/adapters.safetensors")
    assert (config["num_layers"], config["lora_parameters"]["rank"]) == (2, 8)  # v1's shape
    broken = train(folder, "--method", "sft", "--swap-labels")
    bgate = broken["gate"]
    assert isinstance(bgate, dict)
    assert broken["version"] == "tr_chat_v3" and broken["promoted"] is False, bgate["reasons"]
    # Refused for not learning: it ranks the true corrections wrong, or (resumed from tr_chat_v2,
    # which had learned them) right by a margin far below tr_chat_v2's; which one varies by run.
    reason = str(bgate["reasons"][0])
    assert reason.startswith("learned its training corrections: preference accuracy "), reason
    assert "< 0.80 required" in reason or "it prefers them less than the active model does" in reason
    registry = container.storage.adapter_store().load_registry()
    assert registry.active(FAMILY) == AdapterVersion.parse("tr_chat_v2")


def test_sft_then_dpo_on_the_tiny_model_with_the_mlx_preference_trainer(home: tuple[Path, Container]) -> None:
    folder, container = home
    good = train(folder)  # --method sft+dpo (the default)
    assert good["promoted"] is True, good["gate"]
    dpo = good["dpo"]
    # DPO trains only the pairs the SFT result still ranks wrong; here SFT fixed them all.
    assert isinstance(dpo, dict) and dpo["pairs_trained"] == 0 and dpo["steps"] == [], dpo
    # DPO alone from the promoted version on reversed labels: every pair is unranked, all train.
    reverse = train(folder, "--method", "dpo", "--swap-labels", "--promote", "never")
    bdpo, gate = reverse["dpo"], reverse["gate"]
    assert isinstance(bdpo, dict) and bdpo["pairs_trained"] == 9 and bdpo["steps"], bdpo
    assert isinstance(gate, dict)
    # It moved toward the reversed labels: the true pairs' margin shrank against tr_chat_v2's.
    margins = [gate[who]["train_preference"]["mean_margin"] for who in ("candidate", "active")]
    assert margins[0] < margins[1], margins
    active = container.storage.adapter_store().load_registry().active(FAMILY)
    assert active == AdapterVersion.parse("tr_chat_v2")


def test_shuffle_labels_trains_a_broken_candidate_that_the_gate_measures_on_the_true_labels(
        tmp_path: Path, tiny: Path, v1_source: Path) -> None:
    # (Whether the gate refuses it on a real model is bench_learning's --broken shuffled; the
    # tiny random model learns too little of 9 corrections for that to be a fair check here.)
    folder, _container = make_home(tmp_path, tiny, v1_source, "Adı Pamuk {n}.")
    shuffled = train(folder, "--method", "sft", "--shuffle-labels")
    gate = shuffled["gate"]
    assert isinstance(gate, dict) and shuffled["promoted"] is False, gate
    assert [c["check"] for c in gate["checks"]] == ["learned", "matched", "held_out", "regression"]
    for who in ("candidate", "active"):  # own correction ≻ another question's, on the 9 trained turns
        assert gate[who]["matched_preference"]["pairs"] == 9, gate[who]
    version = str(shuffled["version"])
    manifest = json.loads((folder / "adapters" / version / "manifest.json").read_text("utf-8"))
    assert manifest["training"]["plan"]["labels"] == "shuffled"
    assert manifest["metrics"]["gate_matched_accuracy"] == gate["candidate"]["matched_preference"]["accuracy"]
