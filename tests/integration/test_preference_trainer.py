"""MlxPreferenceTrainer: DPO on the tiny model, one base model, the reference computed once.

What a run learned is measured the way the promotion gate measures it: the adapter registered
in evotr's ``MlxLLMBackend`` and the pairs scored with ``LLMBackend.logprobs``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evotr.domain.adapters import AdapterVersion
from evotr.domain.errors import DomainValidationError
from evotr.domain.evaluation import PreferencePair
from evotr.domain.learning import PreferenceJob, PreferenceMetrics
from evotr.infrastructure.mlx import preference_trainer as module
from evotr.infrastructure.mlx.errors import TrainingError
from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend
from evotr.infrastructure.mlx.preference_trainer import MlxPreferenceTrainer
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from evotr.ports.preference_trainer import PreferenceTrainer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

V2 = AdapterVersion.parse("tr_chat_v2")
V3 = AdapterVersion.parse("tr_chat_v3")
ITERS = 20
# One consistent preference (Pamuk over Duman), so a few steps on a random model can learn it.
PAIRS = tuple(PreferencePair(f"{n}. köpeğimin adı ne?", f"Köpeğinin adı Pamuk {n}.",
                             f"Köpeğinin adı Duman {n}.", where=f"pairs.jsonl:{n + 1}") for n in range(8))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("preference_trainer")


@pytest.fixture(scope="module")
def tiny(root: Path) -> Path:
    return ensure_tiny_model(root / "tiny")


def make_job(tiny: Path, **changes: Any) -> PreferenceJob:
    values: dict[str, Any] = dict(version=V2, base_model=str(tiny), pairs=PAIRS, iterations=ITERS,
                                  batch_size=2, learning_rate=1e-3, rank=8, num_layers=2, beta=0.1)
    values.update(changes)
    return PreferenceJob(**values)


class Run:
    """One training run with its progress events and every reference_logprobs call it made."""

    def __init__(self, job: PreferenceJob, out: Path) -> None:
        self.events: list[dict[str, Any]] = []
        self.references: list[np.ndarray] = []
        real = module.reference_logprobs

        def counted(*args: Any, **kwargs: Any) -> np.ndarray:
            found = real(*args, **kwargs)
            self.references.append(found)
            return found

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(module, "reference_logprobs", counted)
            self.metrics: PreferenceMetrics = MlxPreferenceTrainer(seed=0).train(job, out, self.events.append)
        self.out = out


@pytest.fixture(scope="module")
def trained(root: Path, tiny: Path) -> Run:
    return Run(make_job(tiny), root / "adapters" / "tr_chat_v2")


@pytest.fixture(scope="module")
def backend(tiny: Path, trained: Run) -> MlxLLMBackend:
    llm = MlxLLMBackend(str(tiny))
    llm.register_adapter(V2, trained.out)
    return llm


def preference(llm: MlxLLMBackend, adapter: AdapterVersion | None) -> tuple[float, float]:
    """(accuracy, mean log-prob margin) of PAIRS, as the gate computes them."""
    margins = []
    for pair in PAIRS:
        chosen, rejected = llm.logprobs(pair.messages(), [pair.chosen, pair.rejected], adapter)
        margins.append(chosen - rejected)
    return sum(m > 0 for m in margins) / len(margins), sum(margins) / len(margins)


def test_it_implements_the_port() -> None:
    assert isinstance(MlxPreferenceTrainer(), PreferenceTrainer)


def test_dpo_raises_preference_accuracy_and_margin_as_evotrs_backend_measures_them(
        trained: Run, backend: MlxLLMBackend) -> None:
    before_accuracy, before_margin = preference(backend, None)
    after_accuracy, after_margin = preference(backend, V2)
    assert after_accuracy == 1.0 > before_accuracy
    assert after_margin > before_margin + 2.0
    # DPO's reward margin is β × the change of the log-prob margin since the reference.
    final = trained.metrics.final
    assert final is not None and final.accuracy == 1.0 and final.loss < 0.6
    assert final.margin / 0.1 == pytest.approx(after_margin - before_margin, rel=0.5)


def test_every_step_reports_loss_rewards_margin_and_accuracy(trained: Run) -> None:
    assert [e["iteration"] for e in trained.events] == list(range(1, ITERS + 1))
    assert all(e["kind"] == "dpo" and set(e) == {"kind", "iteration", "loss", "chosen_reward",
                                                 "rejected_reward", "margin", "accuracy"}
               for e in trained.events)
    first = trained.events[0]  # the policy starts AT the reference: log 2, no reward, no win
    assert first["loss"] == pytest.approx(math.log(2), abs=1e-5)
    assert first["chosen_reward"] == pytest.approx(0, abs=1e-5) == first["margin"]
    assert first["accuracy"] == 0.0
    assert [s.as_dict() for s in trained.metrics.steps] == [
        {k: v for k, v in e.items() if k != "kind"} for e in trained.events]
    assert trained.metrics.duration_s > 0 and (trained.metrics.peak_memory_mb or 0) > 0


def test_reference_logprobs_are_computed_once_and_are_the_gates_numbers(
        trained: Run, backend: MlxLLMBackend) -> None:
    assert len(trained.references) == 1, "the reference is computed once, before training"
    reference = trained.references[0]
    assert reference.shape == (len(PAIRS), 2)
    gate = np.array([backend.logprobs(p.messages(), [p.chosen, p.rejected], None) for p in PAIRS])
    np.testing.assert_allclose(reference, gate, rtol=1e-4, atol=1e-3)


def test_the_adapter_loads_in_stock_mlx_lm(trained: Run, tiny: Path, backend: MlxLLMBackend) -> None:
    import mlx.core as mx
    import mlx_lm

    config = json.loads((trained.out / "adapter_config.json").read_text("utf-8"))
    assert config["fine_tune_type"] == "lora" and config["num_layers"] == 2
    assert config["lora_parameters"]["rank"] == 8
    assert config["evotr_preference"]["method"] == "dpo" and config["evotr_preference"]["pairs"] == 8
    model, tokenizer = mlx_lm.load(str(tiny), adapter_path=str(trained.out))[:2]
    pair = PAIRS[0]
    messages = [m.as_dict() for m in pair.messages()]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    full = tokenizer.apply_chat_template([*messages, {"role": "assistant", "content": pair.chosen}])
    logits = model(mx.array(full)[None, :-1])[0].astype(mx.float32)
    logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    picked = mx.take_along_axis(logp, mx.array(full)[1:, None], axis=-1)[:, 0]
    stock = float(picked[len(prompt) - 1:].sum().item())
    ours = backend.logprobs(pair.messages(), [pair.chosen], V2)[0]
    assert stock == pytest.approx(ours, abs=1e-3)
    assert not list(trained.out.parent.glob(".tr_chat_v2.tmp-*")), "no staging folder is left behind"


def test_starting_from_an_init_adapter_keeps_its_shapes_and_makes_it_the_reference(
        root: Path, tiny: Path) -> None:
    import mlx.core as mx

    first = Run(make_job(tiny, rank=4, num_layers=1, iterations=5, extra={"scale": 10.0}),
                root / "init" / "tr_chat_v2")
    # The job asks for rank 8 on 2 layers: the init adapter's rank 4 on 1 layer wins.
    second = Run(make_job(tiny, version=V3, init_adapter=str(first.out), iterations=5),
                 root / "init" / "tr_chat_v3")
    config = json.loads((second.out / "adapter_config.json").read_text("utf-8"))
    assert (config["num_layers"], config["lora_parameters"]["rank"], config["lora_parameters"]["scale"]) \
        == (1, 4, 10.0)
    before = mx.load(str(first.out / "adapters.safetensors"))
    after = mx.load(str(second.out / "adapters.safetensors"))
    assert isinstance(before, dict) and isinstance(after, dict)
    assert {k: v.shape for k, v in after.items()} == {k: v.shape for k, v in before.items()}
    assert any(not mx.array_equal(before[k], after[k]).item() for k in before), "it trained on"
    # The reference is the init adapter: the first step sits at it, and its numbers are V2's.
    assert second.events[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)
    llm = MlxLLMBackend(str(tiny))
    llm.register_adapter(V2, first.out)
    gate = np.array([llm.logprobs(p.messages(), [p.chosen, p.rejected], V2) for p in PAIRS])
    np.testing.assert_allclose(second.references[0], gate, rtol=1e-4, atol=1e-3)


def test_the_same_seed_trains_the_same_adapter(root: Path, tiny: Path) -> None:
    import mlx.core as mx

    runs = [Run(make_job(tiny, iterations=3), root / "seed" / name) for name in ("a", "b")]
    a, b = (mx.load(str(run.out / "adapters.safetensors")) for run in runs)
    assert isinstance(a, dict) and isinstance(b, dict)
    assert all(mx.array_equal(a[k], b[k]).item() for k in a)
    assert runs[0].events == runs[1].events


def test_bad_jobs_fail_clearly_before_anything_is_written(root: Path, tiny: Path) -> None:
    with pytest.raises(DomainValidationError, match="at least one pair"):
        make_job(tiny, pairs=())
    bad = root / "bad"
    with pytest.raises(TrainingError, match="'kto' is not implemented"):
        MlxPreferenceTrainer().train(make_job(tiny, method="kto"), bad / "kto")
    (bad / "full").mkdir(parents=True)
    (bad / "full" / "keep.txt").write_text("x")
    with pytest.raises(TrainingError, match="not empty"):
        MlxPreferenceTrainer().train(make_job(tiny), bad / "full")
    with pytest.raises(TrainingError, match="base model"):
        MlxPreferenceTrainer().train(make_job(tiny, base_model=str(root / "nowhere")), bad / "nobase")
    with pytest.raises(TrainingError, match="init_adapter"):
        MlxPreferenceTrainer().train(make_job(tiny, init_adapter=str(root / "nowhere")), bad / "noinit")
    with pytest.raises(TrainingError, match=r"pairs\.jsonl:1.*max_seq_length"):
        MlxPreferenceTrainer().train(make_job(tiny, max_seq_length=4), bad / "long")
    assert sorted(p.name for p in bad.iterdir()) == ["full"], "no folder or staging left behind"


def test_the_container_provides_the_preference_trainer_on_the_trainer_backend(tmp_path: Path) -> None:
    from evotr.container import build_container
    from evotr.infrastructure.filesystem.adapter_checks import config_problems, safetensors_problems
    from evotr.infrastructure.memory.preference_trainer import InMemoryPreferenceTrainer

    container = build_container(home=tmp_path / "home", env={})
    assert isinstance(container.models.preference_trainer(), MlxPreferenceTrainer)
    container = build_container(home=tmp_path / "home", env={})
    container.config.backends.trainer.override("memory")
    fake = container.models.preference_trainer()
    assert isinstance(fake, InMemoryPreferenceTrainer) and isinstance(fake, PreferenceTrainer)
    events: list[dict[str, Any]] = []
    metrics = fake.train(make_job(Path("tiny"), iterations=4), tmp_path / "out", events.append)
    assert [e["iteration"] for e in events] == [1, 2, 3, 4] and fake.jobs[0].iterations == 4
    assert metrics.final is not None and metrics.final.accuracy == 1.0 and metrics.final.margin > 0
    weights = tmp_path / "out" / "adapters.safetensors"
    assert config_problems((tmp_path / "out" / "adapter_config.json").read_bytes()) == []
    with weights.open("rb") as handle:
        assert safetensors_problems(handle, weights.stat().st_size) == []


def test_a_learned_epoch_stops_dpo_early_and_says_so(root: Path, tiny: Path) -> None:
    # 8 pairs in batches of 2: an epoch is 4 steps. The loss starts at ln 2 ≈ 0.693, so a stop
    # loss above it stops after exactly one epoch; below it (0.0) no run can stop.
    stopped = Run(make_job(tiny, iterations=12, stop_loss=0.7), root / "early" / "stopped")
    assert [e["iteration"] for e in stopped.events if e["kind"] == "dpo"] == [1, 2, 3, 4]
    assert stopped.events[-1] == {"kind": "dpo-stopped", "iteration": 4, "stop_loss": 0.7}
    assert len(stopped.metrics.steps) == 4
    full = Run(make_job(tiny, iterations=6, stop_loss=0.0), root / "early" / "full")
    assert len(full.metrics.steps) == 6


def test_only_unranked_pairs_train_and_none_left_means_the_start_is_the_result(
        root: Path, tiny: Path, trained: Run) -> None:
    import mlx.core as mx

    # From the trained adapter (which prefers Pamuk in every pair), nothing is left to fix.
    start = trained.out
    done = Run(make_job(tiny, init_adapter=str(start), only_unranked=True, iterations=4),
               root / "unranked" / "none")
    assert done.events == [{"kind": "dpo-pairs", "pairs": len(PAIRS), "unranked": 0}]
    assert done.metrics.steps == () and done.metrics.pairs_trained == 0
    before = mx.load(str(start / "adapters.safetensors"))
    after = mx.load(str(done.out / "adapters.safetensors"))
    assert before.keys() == after.keys()
    assert all(mx.array_equal(before[k], after[k]).item() for k in before)
    # Reversed labels: the same start ranks every pair wrong, so all of them train.
    reversed_pairs = tuple(PreferencePair(p.prompt, p.rejected, p.chosen, where=p.where) for p in PAIRS)
    flipped = Run(make_job(tiny, init_adapter=str(start), pairs=reversed_pairs, only_unranked=True,
                           iterations=2), root / "unranked" / "all")
    assert flipped.events[0] == {"kind": "dpo-pairs", "pairs": len(PAIRS), "unranked": len(PAIRS)}
    assert flipped.metrics.pairs_trained == len(PAIRS) and len(flipped.metrics.steps) == 2
