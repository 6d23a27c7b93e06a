"""EvaluateRouter and TuneThreshold against a scripted classifier whose outputs the test knows."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import pytest

from evotr.application.router_eval import (
    DEFAULT_THRESHOLDS,
    EvaluateRouter,
    RouterEvalError,
    TuneThreshold,
)
from evotr.domain.intents import ALL_INTENTS, Intent, RoutingPolicy
from evotr.ports.intent_classifier import IntentClassifier

pytestmark = pytest.mark.unit

GC, PY, DBG, HIS, SCI = (Intent.GENERAL_CHAT, Intent.CODE_PYTHON, Intent.CODE_DEBUG, Intent.HISTORY,
                         Intent.SCIENCE)


class ScriptedClassifier(IntentClassifier):
    """Text → (top intent, its probability); the rest is shared evenly by the other seven."""

    def __init__(self, script: Mapping[str, tuple[Intent, float]]) -> None:
        self.script = dict(script)

    def fit(self, examples: Mapping[Intent, Sequence[str]]) -> None:
        """Nothing to learn."""

    def probabilities(self, text: str) -> Mapping[Intent, float]:
        """The scripted distribution of ``text``."""
        top, p = self.script[text]
        rest = (1 - p) / (len(ALL_INTENTS) - 1)
        return {i: p if i is top else rest for i in ALL_INTENTS}


# text: (true intent, scripted top intent, its probability)
CASES = {
    "a": (GC, GC, 0.90),    # right
    "b": (PY, PY, 0.80),    # right
    "c": (PY, DBG, 0.75),   # confident and wrong
    "d": (HIS, HIS, 0.60),  # right guess, but falls back to general_chat: wrong
    "e": (GC, SCI, 0.50),   # wrong guess, falls back to general_chat: right
    "f": (DBG, DBG, 0.95),  # right
}
SAMPLES = [(text, truth) for text, (truth, _, _) in CASES.items()]
CLASSIFIER = ScriptedClassifier({text: (top, p) for text, (_, top, p) in CASES.items()})


def routed(text: str, threshold: float) -> Intent:
    """Where the test expects ``text`` to go, from the script alone."""
    _, top, p = CASES[text]
    return GC if p < threshold else top


def ticking_clock(durations_s: Sequence[float]) -> Callable[[], float]:
    """A clock that advances by the given durations between each start/stop pair."""
    times: list[float] = []
    now = 100.0
    for d in durations_s:
        times += [now, now + d]
        now += d + 1.0
    ticks = iter(times)
    return lambda: next(ticks)


def test_accuracy_counts_a_fallback_as_general_chat() -> None:
    report = EvaluateRouter(CLASSIFIER, RoutingPolicy(0.7)).execute(SAMPLES)
    expected_correct = sum(routed(t, 0.7) == truth for t, truth in SAMPLES)
    assert expected_correct == 4  # a, b, e, f — checked by hand
    assert report.accuracy == pytest.approx(expected_correct / len(SAMPLES))
    assert report.fallback_rate == pytest.approx(2 / 6)  # d and e fall back
    assert report.samples == 6 and report.threshold == 0.7


def test_confusion_matrix_rows_are_true_intents_and_columns_routed_ones() -> None:
    report = EvaluateRouter(CLASSIFIER, RoutingPolicy(0.7)).execute(SAMPLES)
    expected = [[0] * len(ALL_INTENTS) for _ in ALL_INTENTS]
    for text, truth in SAMPLES:
        expected[ALL_INTENTS.index(truth)][ALL_INTENTS.index(routed(text, 0.7))] += 1
    assert [list(row) for row in report.confusion] == expected
    assert report.confusion[ALL_INTENTS.index(HIS)][ALL_INTENTS.index(GC)] == 1  # d


def test_precision_recall_f1_and_support_per_intent() -> None:
    report = EvaluateRouter(CLASSIFIER, RoutingPolicy(0.7)).execute(SAMPLES)
    pairs = [(truth, routed(text, 0.7)) for text, truth in SAMPLES]
    for score in report.per_intent:
        tp = sum(t == score.intent and r == score.intent for t, r in pairs)
        predicted = sum(r == score.intent for _, r in pairs)
        actual = sum(t == score.intent for t, _ in pairs)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        assert (score.precision, score.recall, score.f1, score.support) == pytest.approx(
            (precision, recall, f1, actual)), score.intent
    by_intent = {s.intent: s for s in report.per_intent}
    # general_chat: routed a, d, e (true: a, e) → precision 2/3, recall 2/2.
    assert by_intent[GC].precision == pytest.approx(2 / 3) and by_intent[GC].recall == 1.0
    assert by_intent[Intent.CODE_MATH].support == 0 and by_intent[Intent.CODE_MATH].f1 == 0.0


def test_misrouted_samples_say_where_they_went() -> None:
    report = EvaluateRouter(CLASSIFIER, RoutingPolicy(0.7)).execute(SAMPLES)
    assert [(m.text, m.expected, m.routed, m.fallback) for m in report.misrouted] == [
        ("c", PY, DBG, False), ("d", HIS, GC, True)]
    assert report.misrouted[1].top_intent is HIS and report.misrouted[1].confidence == pytest.approx(0.6)


def test_latency_median_and_p95_from_the_clock() -> None:
    durations = [0.001, 0.002, 0.003, 0.004, 0.005, 0.010]
    report = EvaluateRouter(CLASSIFIER, RoutingPolicy(0.7)).execute(SAMPLES, clock=ticking_clock(durations))
    assert report.latency_median_ms == pytest.approx(3.5)
    # Linear interpolation: rank 0.95 * 5 = 4.75 → 5 + 0.75 * (10 - 5).
    assert report.latency_p95_ms == pytest.approx(8.75)


def test_report_as_dict_is_json_ready() -> None:
    data = EvaluateRouter(CLASSIFIER, RoutingPolicy(0.7)).execute(SAMPLES).as_dict()
    assert data["intents"] == [i.value for i in ALL_INTENTS]
    assert sum(map(sum, data["confusion"])) == len(SAMPLES)
    assert {"accuracy", "fallback_rate", "per_intent", "latency_ms", "misrouted"} <= set(data)
    assert data["misrouted"][0]["expected"] == "code_python"


def test_no_samples_is_an_error() -> None:
    with pytest.raises(RouterEvalError, match="no samples"):
        EvaluateRouter(CLASSIFIER, RoutingPolicy(0.7)).execute([])
    with pytest.raises(RouterEvalError, match="no samples"):
        TuneThreshold(CLASSIFIER).execute([])


def test_tune_reports_every_threshold_with_fallbacks_counted_as_general_chat() -> None:
    report = TuneThreshold(CLASSIFIER).execute(SAMPLES)
    assert [p.threshold for p in report.points] == list(DEFAULT_THRESHOLDS)
    assert DEFAULT_THRESHOLDS[0] == 0.0 and DEFAULT_THRESHOLDS[-1] == 0.95 and len(DEFAULT_THRESHOLDS) == 20
    for point in report.points:
        outcomes = [(routed(t, point.threshold), truth, CASES[t][2] < point.threshold)
                    for t, truth in SAMPLES]
        assert point.accuracy == pytest.approx(sum(r == truth for r, truth, _ in outcomes) / len(SAMPLES))
        assert point.fallback_rate == pytest.approx(sum(fb for _, _, fb in outcomes) / len(SAMPLES))


def test_best_threshold_is_the_most_accurate_and_ties_go_to_the_higher_one() -> None:
    report = TuneThreshold(CLASSIFIER).execute(SAMPLES)
    accuracy = {p.threshold: sum(routed(t, p.threshold) == truth for t, truth in SAMPLES)
                for p in report.points}
    top = max(accuracy.values())
    winners = [t for t, a in accuracy.items() if a == top]
    assert len(winners) > 1  # the script really has a tie to break
    assert report.best.threshold == max(winners)


def test_tie_break_prefers_the_higher_threshold_even_when_listed_first() -> None:
    # Every sample right at 0.9 confidence: thresholds up to 0.9 all score 100 %.
    sure = ScriptedClassifier({"x": (PY, 0.9), "y": (DBG, 0.9)})
    samples = [("x", PY), ("y", DBG)]
    thresholds = [0.9, 0.5, 0.0, 0.95]
    report = TuneThreshold(sure).execute(samples, thresholds)
    assert report.best.threshold == 0.9 and report.best.accuracy == 1.0
    assert [p.threshold for p in report.points] == thresholds
    assert report.as_dict()["best_threshold"] == 0.9


@pytest.mark.parametrize("threshold", [0.0, 0.55, 0.7, 0.8])
def test_evaluate_and_tune_agree_at_the_same_threshold(threshold: float) -> None:
    evaluated = EvaluateRouter(CLASSIFIER, RoutingPolicy(threshold)).execute(SAMPLES)
    tuned = TuneThreshold(CLASSIFIER).execute(SAMPLES, [threshold]).points[0]
    assert (evaluated.accuracy, evaluated.fallback_rate) == (tuned.accuracy, tuned.fallback_rate)


def test_every_sample_is_classified_once_by_tune() -> None:
    calls = itertools.count()

    class Counting(ScriptedClassifier):
        def probabilities(self, text: str) -> Mapping[Intent, float]:
            next(calls)
            return super().probabilities(text)

    TuneThreshold(Counting(CLASSIFIER.script)).execute(SAMPLES)
    assert next(calls) == len(SAMPLES)
