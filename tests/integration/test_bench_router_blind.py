"""bench_router scores each router on the blind sets too: pooled over every set, and per set."""

from __future__ import annotations

import pytest

from evotr.domain.intents import Intent
from evotr.infrastructure.router.classifier import NgramIntentClassifier
from tests.bench_loading import load_benchmark

pytestmark = pytest.mark.integration

bench = load_benchmark("bench_router")

EXAMPLES = {
    Intent.GENERAL_CHAT: ["merhaba nasılsın", "günaydın", "teşekkürler", "iyi geceler", "selam dostum"],
    Intent.CODE_MATH: ["5 artı 3 kaç", "12 çarpı 4 kaç eder", "karekök 81", "yüzde 20 hesapla", "7 böl 2"],
}


def test_blind_sets_are_pooled_by_message_and_kept_per_set() -> None:
    router = NgramIntentClassifier()
    router.fit(EXAMPLES)
    # One set the router gets right, one it cannot (every message labelled against its examples).
    easy = [("merhaba, nasılsın?", Intent.GENERAL_CHAT), ("12 çarpı 5 kaç eder", Intent.CODE_MATH)]
    wrong = [("merhaba dostum", Intent.CODE_MATH), ("karekök 64", Intent.GENERAL_CHAT),
             ("teşekkür ederim", Intent.CODE_MATH), ("7 böl 3", Intent.GENERAL_CHAT)]
    scored = bench._score(router, easy, 0.0, {"easy": easy, "wrong": wrong})
    blind = scored["blind"]
    assert blind["samples"] == 6
    assert blind["sets"] == {"easy": 1.0, "wrong": 0.0}
    # Pooled by message (2 of 6), not the mean of the two sets' accuracies (0.5).
    assert blind["accuracy_at_0.7"] == pytest.approx(2 / 6)
    assert scored["holdout"]["accuracy_at_0.7"] == 1.0


def test_no_blind_sets_leave_the_result_as_before() -> None:
    router = NgramIntentClassifier()
    router.fit(EXAMPLES)
    assert "blind" not in bench._score(router, [("günaydın", Intent.GENERAL_CHAT)], 0.0)


def test_the_committed_blind_sets_are_found() -> None:
    names = [path.stem for path in bench.BLIND_SETS]
    assert names == ["router_blind_r1", "router_blind_r2", "router_blind_r3", "router_blind_r4"]
