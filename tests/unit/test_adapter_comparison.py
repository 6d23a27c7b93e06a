"""The pure parts of `adapters compare`: scores, shares and the "V1 = V2" detector."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from evotr.application.learning.comparison import Comparison, ModelScores, sameness_warnings
from evotr.application.learning.preference import PreferenceAccuracy
from evotr.domain.adapters import AdapterVersion
from evotr.domain.errors import DomainValidationError
from evotr.domain.evaluation import (
    LossResult,
    PreferencePair,
    identical_share,
    preference_result,
    same_loss,
)
from evotr.infrastructure.memory.llm_backend import InMemoryLLMBackend

A, B = AdapterVersion.parse("tr_chat_v1"), AdapterVersion.parse("tr_chat_v2")


def test_preference_result_counts_strict_wins_and_the_mean_margin() -> None:
    result = preference_result([-1.0, -5.0, -2.0], [-2.0, -1.0, -2.0])  # win, loss, tie
    assert (result.wins, result.pairs) == (1, 3)
    assert result.accuracy == pytest.approx(1 / 3)
    assert result.mean_margin == pytest.approx((1.0 - 4.0 + 0.0) / 3)
    assert preference_result([], []).accuracy == 0.0


def test_identical_share_and_same_loss() -> None:
    assert identical_share(["a", "b", "c", "d"], ["a", "x", "c", "y"]) == 0.5
    with pytest.raises(ValueError):
        identical_share(["a"], [])
    assert same_loss(LossResult(2.0, 10), LossResult(2.0 + 1e-9, 10))
    assert not same_loss(LossResult(2.0, 10), LossResult(2.01, 10))
    assert not same_loss(None, LossResult(2.0, 10))
    assert LossResult(2.0, 5).perplexity == pytest.approx(math.exp(2.0))
    assert LossResult(1e6, 5).perplexity == math.inf


def test_a_pair_needs_three_texts() -> None:
    with pytest.raises(DomainValidationError, match="rejected"):
        PreferencePair("soru", "iyi", "  ")


def _comparison(base: list[str], a: list[str], b: list[str], losses: tuple[float, float, float],
                dataset_b: str = "d1") -> Comparison:
    prompts = tuple(f"p{i}" for i in range(len(base)))
    config = {"learning_rate": 1e-5, "iters": 30, "lora_parameters": {"rank": 8, "scale": 20.0}}
    return Comparison(
        ModelScores(None, tuple(base), LossResult(losses[0], 10)),
        ModelScores(A, tuple(a), LossResult(losses[1], 10), config=config, dataset="d1"),
        ModelScores(B, tuple(b), LossResult(losses[2], 10), config=config, dataset=dataset_b),
        prompts, "data", False)


def test_an_adapter_with_the_base_models_loss_and_answers_is_called_not_applied_or_zero() -> None:
    warnings = sameness_warnings(_comparison(["x", "y"], ["x", "y"], ["x", "z"], (3.0, 3.0, 2.5)))
    assert [(w.first, w.second) for w in warnings] == [("base", "tr_chat_v1")]
    causes = " ".join(warnings[0].causes)
    assert "not applied" in causes and "zero" in causes and "lr 1e-05" in causes


def test_an_adapter_that_moves_the_loss_but_no_answer_is_called_too_weak() -> None:
    warnings = sameness_warnings(_comparison(["x", "y"], ["x", "y"], ["q", "z"], (3.0, 2.9, 2.5)))
    causes = " ".join(warnings[0].causes)
    assert "3.0000 -> 2.9000" in causes and "scale" in causes and "learning rate too low" in causes


def test_a_equal_to_b_is_flagged_with_same_data_and_same_weights() -> None:
    comparison = _comparison(["x", "y"], ["q", "z"], ["q", "z"], (3.0, 2.5, 2.5))
    [warning] = comparison.warnings
    assert "V1 = V2" in warning.headline and (warning.first, warning.second) == ("tr_chat_v1", "tr_chat_v2")
    causes = " ".join(warning.causes)
    assert "same weights" in causes and "same data" in causes and "learning rate" not in causes
    assert comparison.as_dict()["identical_outputs"] == {
        "base/tr_chat_v1": 0.0, "base/tr_chat_v2": 0.0, "tr_chat_v1/tr_chat_v2": 1.0}


def test_different_answers_give_no_warning() -> None:
    assert sameness_warnings(_comparison(["x", "y"], ["x", "q"], ["r", "y"], (3.0, 2.5, 2.4), "d2")) == []


def test_preference_accuracy_on_the_in_memory_backend_prefers_shorter_answers() -> None:
    backend = InMemoryLLMBackend()
    backend.register_adapter(A, Path("/x"))
    pairs = [PreferencePair("p", "kısa", "çok uzun bir cevap"), PreferencePair("p", "uzun bir cevap", "kısa")]
    result = PreferenceAccuracy(backend).execute(pairs, A, system="Sen EVO-TR'sin")
    assert (result.wins, result.pairs) == (1, 2)
