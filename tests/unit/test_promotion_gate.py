"""The promotion rule (domain.promotion) and the plan's pure parts (domain.feedback_training)."""

from __future__ import annotations

import pytest

from evotr.domain.adapters import AdapterFamily
from evotr.domain.errors import DomainValidationError
from evotr.domain.evaluation import LossResult, PreferenceResult
from evotr.domain.feedback_training import TrainMethod, scaled_iterations
from evotr.domain.promotion import GateDecision, GatePolicy, ModelMeasures, PromoteMode, decide


def measures(label: str, held: tuple[int, int], train: tuple[int, int], regression: float | None = None,
             margin: float = 0.5, matched: tuple[int, int] | None = None) -> ModelMeasures:
    return ModelMeasures(label, PreferenceResult(held[1], held[0], margin),
                         PreferenceResult(train[1], train[0], margin), LossResult(2.0, 30),
                         None if regression is None else LossResult(regression, 100),
                         None if matched is None else PreferenceResult(matched[1], matched[0], margin))


def detail(decision: GateDecision, name: str) -> str:
    [check] = [c for c in decision.checks if c.name == name]
    return check.detail


POLICY = GatePolicy(learned_share=0.8, tolerance=0.05, max_regression=0.05)


def test_a_candidate_that_learned_and_generalises_is_promoted_with_every_check_in_numbers() -> None:
    decision = decide(measures("tr_chat_v2", (3, 3), (7, 7), 2.0),
                      measures("tr_chat_v1", (1, 3), (2, 7), 2.0),
                      POLICY, regression_data="tiny_tr_chat")
    assert decision.passed and decision.promote and decision.verdict == "promoted"
    assert "1.00 (7/7, mean margin +0.500) ≥ 0.80 required" in detail(decision, "learned")
    held = detail(decision, "held_out")
    assert "candidate 1.00 (3/3" in held and "≥ 0.28 = tr_chat_v1 0.33 (1/3" in held
    assert ("regression on tiny_tr_chat: val loss tr_chat_v1 2.0000 → candidate 2.0000 "
            "(+0.0% ≤ +5.0% allowed)") in detail(decision, "regression")


def test_a_candidate_that_did_not_learn_its_corrections_is_kept_and_says_why() -> None:
    decision = decide(measures("tr_chat_v2", (3, 3), (3, 7)), measures("base", (0, 3), (0, 7)), POLICY)
    assert not decision.promote and decision.verdict == "kept"
    assert decision.reasons == ["learned its training corrections: preference accuracy 0.43 (3/7, mean "
                                "margin +0.500) < 0.80 required"]


def test_a_candidate_that_prefers_its_corrections_less_than_the_active_model_is_kept() -> None:
    # Resumed from a version that had learned the corrections, then trained on wrong labels: it
    # still ranks every pair right, by a margin that collapsed from +2.5 to +0.06.
    active = measures("tr_chat_v2", (3, 3), (9, 9), margin=2.5)
    collapsed = decide(measures("tr_chat_v3", (3, 3), (9, 9), margin=0.06), active, POLICY)
    assert not collapsed.promote and not collapsed.worth_a_blend
    assert collapsed.reasons == [
        "learned its training corrections: preference accuracy 1.00 (9/9, mean margin +0.060) ≥ 0.80 "
        "required, but its mean margin +0.060 < tr_chat_v2's +2.500: it prefers them less than the "
        "active model does"]
    assert decide(measures("tr_chat_v3", (3, 3), (9, 9), margin=2.5), active, POLICY).promote


def test_held_out_may_be_worse_only_within_the_tolerance() -> None:
    active = measures("tr_chat_v1", (6, 10), (7, 10))
    within = decide(measures("c", (6, 10), (10, 10)), active, GatePolicy(tolerance=0.0))
    below = decide(measures("c", (5, 10), (10, 10)), active, GatePolicy(tolerance=0.05))
    allowed = decide(measures("c", (5, 10), (10, 10)), active, GatePolicy(tolerance=0.1))
    assert within.promote and not below.promote and allowed.promote
    assert "held-out pairs: candidate 0.50 (5/10" in below.reasons[0] and "< 0.55" in below.reasons[0]


def test_a_regression_beyond_max_regression_is_refused_and_unchecked_without_data() -> None:
    worse = decide(measures("c", (3, 3), (7, 7), 2.2), measures("v1", (1, 3), (1, 7), 2.0), POLICY,
                   regression_data="gen")
    assert not worse.promote
    assert worse.reasons == [
        "regression on gen: val loss v1 2.0000 → candidate 2.2000 (+10.0% > +5.0% allowed)"]
    unchecked = decide(measures("c", (3, 3), (7, 7)), measures("v1", (1, 3), (1, 7)), POLICY)
    assert unchecked.promote and "not checked" in detail(unchecked, "regression")


def test_answers_that_no_longer_fit_their_own_questions_are_refused_and_not_blended() -> None:
    # Learned "its corrections" (correction ≻ original: style) yet prefers other questions'
    # correction for most questions: trained on shuffled answers, it would say the wrong fact.
    shuffled = measures("c", (3, 3), (7, 7), matched=(2, 7))
    active = measures("v1", (1, 3), (1, 7), matched=(6, 7))
    decision = decide(shuffled, active, POLICY)
    assert not decision.promote and not decision.worth_a_blend
    assert decision.reasons == [
        "answers fit their own questions (own correction ≻ other questions'): candidate 0.29 (2/7, "
        "mean margin +0.500) < 0.81 = v1 0.86 (6/7, mean margin +0.500) − tolerance 0.05"]
    fitting = decide(measures("c", (3, 3), (7, 7), matched=(7, 7)), active, POLICY)
    assert fitting.promote and "candidate 1.00 (7/7" in detail(fitting, "matched")
    unmeasured = decide(measures("c", (3, 3), (7, 7)), measures("v1", (1, 3), (1, 7)), POLICY)
    assert unmeasured.promote and "not checked" in detail(unmeasured, "matched")


def test_promote_never_and_always_override_the_gate_and_say_so() -> None:
    good, bad = measures("c", (3, 3), (7, 7)), measures("c", (0, 3), (0, 7))
    base = measures("base", (1, 3), (1, 7))
    never = decide(good, base, POLICY, PromoteMode.NEVER)
    always = decide(bad, base, POLICY, PromoteMode.ALWAYS)
    assert never.passed and not never.promote and never.reasons[-1] == "not promoted: --promote never"
    assert not always.passed and always.promote and always.reasons[-1] == "promoted anyway: --promote always"
    assert always.as_dict()["decision"] == "promoted" and always.as_dict()["gate_passed"] is False


def test_a_candidate_with_no_pairs_never_passes() -> None:
    empty = ModelMeasures("c", PreferenceResult(0, 0, 0.0), PreferenceResult(0, 0, 0.0))
    assert not decide(empty, empty, GatePolicy(learned_share=0.0, tolerance=1.0)).promote


def test_policy_values_are_shares() -> None:
    with pytest.raises(DomainValidationError, match="tolerance"):
        GatePolicy(tolerance=1.5)
    with pytest.raises(DomainValidationError, match="promote mode"):
        PromoteMode.parse("sometimes")


def test_iterations_scale_with_the_data_and_never_drop_below_thirty() -> None:
    assert scaled_iterations(7, 2) == 30
    assert scaled_iterations(40, 2) == 60  # 3 epochs of 20 batches
    assert scaled_iterations(41, 2) == 63


def test_methods_name_their_stages() -> None:
    assert (TrainMethod.parse("sft+dpo").sft, TrainMethod.parse("sft+dpo").dpo) == (True, True)
    assert (TrainMethod.SFT.dpo, TrainMethod.DPO.sft) == (False, False)
    with pytest.raises(DomainValidationError, match="training method"):
        TrainMethod.parse("ppo")
    assert AdapterFamily("tr_chat").name == "tr_chat"
