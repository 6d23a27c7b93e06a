"""TrainFromFeedback with fakes: the gate on corrections, the split, SFT → DPO from the active
adapter, the decision (registry, manifest, history), an interrupted run, auto-training."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import attrs
import pytest

from evotr.application.adapters import PromoteAdapter, RollbackAdapter
from evotr.application.learning.auto_train import AutoTrain
from evotr.application.learning.feedback_plan import PlanFeedbackTraining, TrainingDefaults
from evotr.application.learning.feedback_train import TrainFromFeedback
from evotr.application.learning.gate import MeasureGate
from evotr.domain.adapter_manifest import AdapterManifest
from evotr.domain.adapters import AdapterFamily, AdapterVersion
from evotr.domain.errors import EvoTrError
from evotr.domain.feedback_training import FeedbackGateClosedError
from evotr.domain.promotion import GatePolicy
from evotr.domain.training import TrainingJob, TrainingMetrics
from evotr.infrastructure.config.loader import load_intent_mapping
from evotr.infrastructure.datasets.evaluation_files import EvaluationFiles
from evotr.infrastructure.filesystem.adapter_history import JsonlAdapterHistory
from evotr.infrastructure.filesystem.adapter_store import FilesystemAdapterStore
from evotr.infrastructure.memory.adapter_blender import InMemoryAdapterBlender
from evotr.infrastructure.memory.background_training import InMemoryBackgroundTraining
from evotr.infrastructure.memory.feedback_repository import InMemoryFeedbackRepository
from evotr.infrastructure.mlx.tiny_datasets import write_tiny_chat_dataset
from evotr.ports.trainer import Progress
from tests.fakes.learning import FakePreferenceTrainer, FakeSftTrainer, ScoringLLM, add_judged_turns

MAPPING = load_intent_mapping(Path(__file__).resolve().parents[2] / "configs" / "intents.yaml")
V1, V2 = AdapterVersion.parse("tr_chat_v1"), AdapterVersion.parse("tr_chat_v2")


class World:
    """The use case wired to fakes, with a real adapter folder and history file in tmp_path."""

    def __init__(self, tmp_path: Path, trainer: FakeSftTrainer | None = None,
                 general_sets: Path | None = None) -> None:
        self.tmp = tmp_path
        self.repository = InMemoryFeedbackRepository()
        self.store = FilesystemAdapterStore(tmp_path / "adapters")
        self.history = JsonlAdapterHistory(tmp_path / "adapters")
        self.trainer = trainer or FakeSftTrainer()
        self.dpo = FakePreferenceTrainer()
        self.llm = ScoringLLM()
        self.data_dir = tmp_path / "data"
        self.general_sets = general_sets
        planner = PlanFeedbackTraining(self.repository, MAPPING, self.store, 10, TrainingDefaults())
        gate = MeasureGate(self.llm, EvaluationFiles(), GatePolicy())
        self.use_case = TrainFromFeedback(planner, self.store, self.trainer, self.dpo, gate, self.history,
                                          EvaluationFiles(), "base-model", tmp_path / "tmp", self.data_dir,
                                          general_sets)

    def active_v1(self, *, rank: int = 4, layers: int = 2, dataset: str = "") -> None:
        source = self.tmp / "v1-src"
        FakeSftTrainer().train(TrainingJob(V1, "base-model", "d", rank=rank, num_layers=layers), source)
        self.store.add(V1, source, AdapterManifest(V1, "base-model", dataset))
        self.store.update_registry(lambda r: r.register(V1).promote(V1))


def test_the_gate_stays_closed_below_min_corrections_per_family_and_says_how_many_are_missing(
        tmp_path: Path) -> None:
    world = World(tmp_path)
    add_judged_turns(world.repository, 9)  # general_chat → tr_chat
    add_judged_turns(world.repository, 12, intent="code_python", start=100)  # python_coder: open
    add_judged_turns(world.repository, 5, kind="thumbs_down", start=200)  # not corrections
    with pytest.raises(FeedbackGateClosedError, match=r"tr_chat has 9 corrections: 1 more needed .*min 10"):
        world.use_case.execute("tr_chat")
    plans = world.use_case.plans()
    assert [p.family.name for p in plans] == ["python_coder"]
    assert world.trainer.jobs == [] and world.store.versions() == []


def test_dry_run_prints_the_plan_and_trains_nothing(tmp_path: Path) -> None:
    world = World(tmp_path)
    add_judged_turns(world.repository, 12)
    [outcome] = world.use_case.execute("tr_chat", dry_run=True)
    plan = outcome.as_dict()["plan"]
    assert outcome.trained is False and outcome.decision is None
    assert plan["split"]["train"] == 9 and plan["split"]["held_out"] == 3  # ≥ 20 % and ≥ 3
    assert plan["stages"] == ["sft", "dpo"]
    # 3 epochs over the corrections and the general rows replayed beside them; DPO over the pairs
    rows = 9 + math.ceil(9 * TrainingDefaults().replay_ratio)
    assert plan["sft"]["iterations"] == max(30, 3 * math.ceil(rows / 2)) and plan["dpo"]["iterations"] == 30
    assert plan["version"] == "tr_chat_v1" and plan["starts_from"] is None
    assert world.trainer.jobs == [] and world.dpo.jobs == [] and world.store.versions() == []
    assert not (tmp_path / "adapters" / "history.jsonl").exists()


def test_a_winning_candidate_starts_from_the_active_adapter_and_is_promoted_with_its_record(
        tmp_path: Path) -> None:
    world = World(tmp_path)
    world.active_v1(rank=4, layers=2)
    ids = add_judged_turns(world.repository, 12)
    world.llm.margins[V2] = 1.0  # the candidate prefers every correction; v1 (default) the originals
    [outcome] = world.use_case.execute()

    [sft] = world.trainer.jobs
    assert (sft.rank, sft.num_layers, sft.learning_rate) == (4, 2, 1e-4)
    assert sft.extra["mask_prompt"] is True
    assert sft.extra["resume_adapter_file"] == str(world.store.path(V1) / "adapters.safetensors")
    [dpo] = world.dpo.jobs
    assert dpo.init_adapter is not None and dpo.init_adapter.endswith("/sft") and len(dpo.pairs) == 9
    assert dpo.pairs[0].context[0].content.startswith("Sen EVO-TR")  # the prompt the user saw
    assert outcome.promoted and world.store.load_registry().active(AdapterFamily("tr_chat")) == V2

    manifest = json.loads((world.store.path(V2) / "manifest.json").read_text("utf-8"))
    turns = manifest["training"]["feedback_turns"]
    assert sorted(turns["train"] + turns["held_out"]) == sorted(ids) and len(turns["held_out"]) == 3
    metrics = manifest["metrics"]
    assert metrics["gate_train_accuracy"] == 1.0 and metrics["active_held_out_accuracy"] == 0.0
    assert manifest["training"]["gate"]["decision"] == "promoted"
    [event] = world.history.events()
    assert event.event == "feedback_train" and event.details["active_before"] == "tr_chat_v1"
    assert event.details["active_after"] == "tr_chat_v2" and event.details["decision"] == "promoted"
    assert list(tmp_path.joinpath("tmp").iterdir()) == []  # scratch cleaned


def test_a_worse_candidate_is_kept_inactive_and_the_numbers_say_why(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.active_v1()
    add_judged_turns(world.repository, 10)
    world.llm.margins[V1] = 1.0
    world.llm.margins[V2] = -1.0
    [outcome] = world.use_case.execute("tr_chat")
    assert not outcome.promoted
    registry = world.store.load_registry()
    assert registry.active(AdapterFamily("tr_chat")) == V1 and 2 in registry.state(V1.family).versions
    [event] = world.history.events(AdapterFamily("tr_chat"))
    assert event.details["decision"] == "kept" and event.details["active_after"] == "tr_chat_v1"
    reasons = event.details["reasons"]
    assert isinstance(reasons, list)
    assert reasons[0].startswith("learned its training corrections: preference accuracy 0.00 (0/7")
    assert reasons[1].startswith("answers fit their own questions")  # (own ≻ another's correction)
    assert "held-out pairs: candidate 0.00 (0/3" in reasons[2] and "tr_chat_v1 1.00 (3/3" in reasons[2]


def test_the_regression_set_is_the_active_versions_dataset_and_a_rise_refuses(tmp_path: Path) -> None:
    world = World(tmp_path)
    write_tiny_chat_dataset(world.data_dir / "training" / "tr_general", "tr_chat")
    world.active_v1(dataset="tr_general")
    add_judged_turns(world.repository, 10)
    world.llm.margins[V2] = 1.0
    world.llm.losses.update({V1: 2.0, V2: 2.2})
    [outcome] = world.use_case.execute("tr_chat")
    assert outcome.decision is not None and not outcome.promoted
    assert outcome.decision.reasons == [
        "regression on tr_general: val loss tr_chat_v1 2.0000 → candidate 2.2000 (+10.0% > +5.0% allowed)"]
    assert world.store.manifest(V2).dataset == "tr_general"  # inherited: later runs keep the same set


def test_an_interrupted_run_registers_nothing(tmp_path: Path) -> None:
    class Interrupted(FakeSftTrainer):
        def train(self, job: TrainingJob, output_dir: Path,
                  progress: Progress | None = None) -> TrainingMetrics:
            super().train(job, output_dir, progress)
            raise KeyboardInterrupt

    world = World(tmp_path, Interrupted())
    world.active_v1()
    add_judged_turns(world.repository, 10)
    with pytest.raises(KeyboardInterrupt):
        world.use_case.execute("tr_chat")
    assert world.store.versions() == [V1] and world.store.load_registry().state(V1.family).versions == (1,)
    assert world.history.events() == [] and list((tmp_path / "tmp").iterdir()) == []


def test_swapped_labels_train_on_the_original_answers_while_the_gate_measures_the_true_ones(
        tmp_path: Path) -> None:
    world = World(tmp_path)
    add_judged_turns(world.repository, 10)
    world.use_case.execute("tr_chat", method="dpo", labels="swapped")
    [dpo] = world.dpo.jobs
    assert all(p.chosen.startswith("Bilmiyorum") for p in dpo.pairs) and dpo.init_adapter is None
    assert world.trainer.jobs == []  # method dpo: no SFT stage
    [event] = world.history.events()
    assert event.details["swap_labels"] is True and event.details["decision"] == "kept"


def test_auto_train_starts_when_a_correction_opens_the_gate_and_again_after_ten_new_ones(
        tmp_path: Path) -> None:
    world = World(tmp_path)
    background = InMemoryBackgroundTraining()
    auto = AutoTrain(world.repository, MAPPING, world.history, background, 10, enabled=True)
    ids = add_judged_turns(world.repository, 9)
    assert auto.after_feedback(ids[-1]) is None
    [tenth] = add_judged_turns(world.repository, 1, start=9)
    run = auto.after_feedback(tenth)
    assert run is not None and run.family == "tr_chat"
    assert auto.after_feedback(tenth) is None  # one run at a time
    assert "running for tr_chat since" in auto.state().describe()
    background.finish()
    world.llm.margins[AdapterVersion.parse("tr_chat_v1")] = 1.0
    world.use_case.execute("tr_chat")  # what the background run does: records its decision
    [more] = add_judged_turns(world.repository, 1, start=10)
    assert auto.after_feedback(more) is None and auto.unused_corrections(AdapterFamily("tr_chat")) == 1
    state = auto.state()
    assert state.last is not None and "tr_chat_v1 promoted" in state.describe()
    off = AutoTrain(world.repository, MAPPING, world.history, background, 10, enabled=False)
    assert off.after_feedback(tenth) is None and "off" in off.state().describe()


def test_promote_and_rollback_are_appended_to_the_history(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.active_v1()
    source = tmp_path / "v2-src"
    FakeSftTrainer().train(TrainingJob(V2, "base-model", "d"), source)
    world.store.add(V2, source, AdapterManifest(V2, "base-model"))
    PromoteAdapter(MAPPING, world.store, world.history).execute("tr_chat_v2")
    RollbackAdapter(MAPPING, world.store, world.history).execute("tr_chat")
    events = [e.as_dict() for e in world.history.events()]
    assert [(e["event"], e["from"], e["to"]) for e in events] == [
        ("promote", "tr_chat_v1", "tr_chat_v2"), ("rollback", "tr_chat_v2", "tr_chat_v1")]


def test_corrections_of_empty_replies_still_train_sft_and_dpo_is_left_out(tmp_path: Path) -> None:
    # The model said nothing: the correction still teaches the answer, but there is no
    # (correction, original) pair, so sft+dpo runs SFT alone and says so; dpo alone is refused.
    world = World(tmp_path)
    add_judged_turns(world.repository, 12, reply="")
    add_judged_turns(world.repository, 5, reply="", kind="thumbs_up", start=100)  # nothing to learn
    examples = world.repository.judged_turns()
    assert len(examples) == 12 and all(e.preference_pair() is None for e in examples)
    assert all(e.kto_rows() == [(e.correction, True)] for e in examples)
    stages: list[object] = []
    [outcome] = world.use_case.execute("tr_chat", progress=lambda e: stages.append(e.get("stage")))
    assert outcome.plan.stages() == ["sft"] and outcome.dpo is None and world.dpo.jobs == []
    assert len(world.trainer.jobs) == 1 and "dpo-skipped" in stages
    with pytest.raises(EvoTrError, match="DPO has no pair to learn from; use --method sft"):
        world.use_case.execute("tr_chat", method="dpo")


def test_feedback_prompts_keep_a_sequence_length_that_fits_them(tmp_path: Path) -> None:
    # An active adapter trained on 64-token demo rows must not cut the persona prompt's answers off.
    world = World(tmp_path)
    world.active_v1()
    config = world.store.path(V1) / "adapter_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text("utf-8")), "max_seq_length": 64}), "utf-8")
    add_judged_turns(world.repository, 12)
    [outcome] = world.use_case.execute("tr_chat", dry_run=True)
    assert outcome.plan.shape.max_seq_length >= 1024


def test_without_a_dataset_of_its_own_the_packaged_general_set_guards_against_a_wrecked_model(
        tmp_path: Path) -> None:
    # No active version, so no dataset to check against: the packaged configs/regression set is
    # the general set, and a candidate whose loss on it explodes is refused however well it ranks
    # the corrections (what an over-optimised DPO run does).
    general = Path(__file__).resolve().parents[2] / "configs" / "regression"
    world = World(tmp_path, general_sets=general)
    add_judged_turns(world.repository, 12)
    world.llm.margins[V1] = 5.0
    world.llm.losses.update({None: 2.0, V1: 40.0})
    [outcome] = world.use_case.execute("tr_chat")
    assert outcome.decision is not None and not outcome.promoted
    [reason] = outcome.decision.reasons
    assert reason == ("regression on general tr_chat set: val loss base 2.0000 → candidate 40.0000 "
                      "(+1900.0% > +5.0% allowed)")
    assert world.store.load_registry().active(AdapterFamily("tr_chat")) is None


class DatasetSnapshot(FakeSftTrainer):
    """Keeps the train.jsonl each SFT job was given (the use case deletes its work folder)."""

    def __init__(self) -> None:
        super().__init__()
        self.train_rows: list[list[dict[str, str]]] = []

    def train(self, job: TrainingJob, output_dir: Path, progress: Progress | None = None) -> TrainingMetrics:
        lines = (Path(job.dataset) / "train.jsonl").read_text("utf-8").splitlines()
        self.train_rows = [json.loads(line)["messages"] for line in lines]
        return super().train(job, output_dir, progress)


def test_sft_replays_general_rows_per_correction_from_the_general_train_split_never_the_gates(
        tmp_path: Path) -> None:
    general = Path(__file__).resolve().parents[2] / "configs" / "regression"
    snapshot = DatasetSnapshot()
    world = World(tmp_path, trainer=snapshot, general_sets=general)
    add_judged_turns(world.repository, 12)
    world.llm.margins[V1] = 5.0
    [outcome] = world.use_case.execute("tr_chat")
    train = len(outcome.plan.split.train)
    general_train = [json.loads(line)["messages"] for line in
                     (general / "tr_chat" / "train.jsonl").read_text("utf-8").splitlines()]
    general_valid = [json.loads(line)["messages"] for line in
                     (general / "tr_chat" / "valid.jsonl").read_text("utf-8").splitlines()]
    replayed = [row for row in snapshot.train_rows if row in general_train]
    expected = math.ceil(train * TrainingDefaults().replay_ratio)
    assert expected > 0 and len(replayed) == expected == len(snapshot.train_rows) - train
    assert not any(row in general_valid for row in snapshot.train_rows)  # the gate's set stays unseen
    assert outcome.as_dict()["replay"] == {"data": "general tr_chat set", "rows": expected}
    assert world.store.manifest(V1).training["replay"] == {"data": "general tr_chat set", "rows": expected}
    assert outcome.plan.as_dict()["dpo"]["stop_loss"] == 0.1  # type: ignore[index]


def test_without_a_general_train_split_sft_trains_on_the_corrections_alone(tmp_path: Path) -> None:
    snapshot = DatasetSnapshot()
    world = World(tmp_path, trainer=snapshot)  # no packaged sets, no active dataset: nothing to replay
    add_judged_turns(world.repository, 12)
    [outcome] = world.use_case.execute("tr_chat")
    assert len(snapshot.train_rows) == len(outcome.plan.split.train) and outcome.replay is None


class BlendAwareLLM(ScoringLLM):
    """Val loss by the strength written beside a registered folder (the in-memory blender's note)."""

    def __init__(self) -> None:
        super().__init__()
        self.folders: dict[AdapterVersion, Path] = {}
        self.by_strength: dict[float, float] = {}
        self.candidate: AdapterVersion | None = None  # the version whose loss depends on the strength

    def register_adapter(self, version: AdapterVersion, path: Path) -> None:
        super().register_adapter(version, path)
        self.folders[version] = Path(path)

    def loss(self, conversations: Any, adapter: AdapterVersion | None = None, **kwargs: Any) -> Any:
        found = super().loss(conversations, adapter, **kwargs)
        note = self.folders[adapter] / "blend.json" if adapter in self.folders else None
        strength = json.loads(note.read_text("utf-8"))["strength"] if note and note.is_file() else 1.0
        if adapter == self.candidate and strength in self.by_strength:
            return attrs.evolve(found, loss=self.by_strength[strength])
        return found


def blending_world(tmp_path: Path) -> tuple[World, BlendAwareLLM, InMemoryAdapterBlender]:
    world = World(tmp_path, general_sets=Path(__file__).resolve().parents[2] / "configs" / "regression")
    llm, blender = BlendAwareLLM(), InMemoryAdapterBlender()
    world.llm = llm
    gate = MeasureGate(llm, EvaluationFiles(), GatePolicy())
    planner = PlanFeedbackTraining(world.repository, MAPPING, world.store, 10, TrainingDefaults())
    world.use_case = TrainFromFeedback(planner, world.store, world.trainer, world.dpo, gate, world.history,
                                       EvaluationFiles(), "base-model", tmp_path / "tmp", world.data_dir,
                                       world.general_sets, blender)
    return world, llm, blender


def test_a_candidate_that_overshoots_is_promoted_as_the_first_gentler_blend_that_passes(
        tmp_path: Path) -> None:
    world, llm, blender = blending_world(tmp_path)
    add_judged_turns(world.repository, 12)
    llm.margins[V1] = 5.0  # learned its corrections at every strength (the fake ignores strength here)
    llm.losses[None] = 2.0  # the base model on the general set
    llm.candidate = V1
    llm.by_strength.update({1.0: 2.6, 0.5: 2.05, 0.25: 1.9})  # +30 %, then +2.5 % (passes), ...
    [outcome] = world.use_case.execute("tr_chat")
    assert outcome.promoted and outcome.decision is not None and outcome.decision.strength == 0.5
    assert [(start, strength) for start, _, strength in blender.blends] == [(None, 0.5)]  # from the base
    assert [(b["strength"], b["passed"]) for b in outcome.blends] == [(1.0, False), (0.5, True)]
    assert blender.blends[0][1].name == "dpo"  # the trained adapter: the DPO stage's result
    manifest = world.store.manifest(V1)
    assert manifest.training["strength"] == 0.5 and len(manifest.training["blends"]) == 2
    [event] = world.history.events()
    assert event.details["strength"] == 0.5 and event.details["decision"] == "promoted"


def test_when_no_blend_passes_the_trained_adapter_is_kept_and_the_resident_model_holds_it(
        tmp_path: Path) -> None:
    world, llm, blender = blending_world(tmp_path)
    world.active_v1()
    add_judged_turns(world.repository, 12)
    llm.margins[V2] = 5.0
    llm.losses[V1] = 2.0
    llm.candidate = V2
    llm.by_strength.update({1.0: 3.0, 0.5: 2.5, 0.25: 2.2})  # every strength regresses > 5 %
    [outcome] = world.use_case.execute("tr_chat")
    assert not outcome.promoted and outcome.decision is not None and outcome.decision.strength == 1.0
    assert [s for _, _, s in blender.blends] == [0.5, 0.25]
    assert all(start == world.store.path(V1) for start, _, _ in blender.blends)  # blends from the active one
    assert [b["passed"] for b in outcome.blends] == [False, False, False]
    assert not (llm.folders[V2] / "blend.json").exists()  # re-registered: the trained weights, as stored


def test_a_candidate_that_did_not_learn_its_corrections_is_not_blended(tmp_path: Path) -> None:
    world, llm, blender = blending_world(tmp_path)
    add_judged_turns(world.repository, 12)
    llm.margins[V1] = -1.0  # prefers the originals: a gentler mix of it cannot learn more
    [outcome] = world.use_case.execute("tr_chat")
    assert not outcome.promoted and blender.blends == [] and len(outcome.blends) == 1


def test_shuffled_labels_train_each_question_with_another_questions_correction(tmp_path: Path) -> None:
    world = World(tmp_path)
    add_judged_turns(world.repository, 10)
    world.use_case.execute("tr_chat", method="dpo", labels="shuffled")
    [dpo] = world.dpo.jobs
    numbers = [(p.prompt.split(":")[0].split()[-1], p.chosen.split()[-1].rstrip(".")) for p in dpo.pairs]
    assert len(numbers) >= 2 and all(asked != answered for asked, answered in numbers)
    assert sorted(a for a, _ in numbers) == sorted(b for _, b in numbers)  # the same answers, moved
    assert all(p.rejected.startswith("Bilmiyorum") for p in dpo.pairs)
    [event] = world.history.events()
    assert event.details["labels"] == "shuffled" and event.details["swap_labels"] is False
