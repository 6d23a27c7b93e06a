"""The generate report's rate line compares with what a per-minute limit permits in the run's time."""

from __future__ import annotations

import pytest

from evotr.entrypoints.cli.data import _rate

pytestmark = pytest.mark.unit


def test_a_full_second_window_is_100_percent_not_198() -> None:
    # 30 requests at once, 30 more a minute later: within a 30/min limit, 60 in 60.5 s.
    assert "(100% of what it permits)" in _rate(60, 60.5, 30)


def test_half_the_limit_and_over_the_limit() -> None:
    assert "(50% of what it permits)" in _rate(15, 30.0, 30)
    assert "(200% of what it permits)" in _rate(60, 30.0, 30)  # 60 in half a minute broke the limit


def test_without_a_limit_only_the_rate() -> None:
    assert _rate(10, 0.5, None) == "10.0/min"
    assert _rate(10, 0.0, 30) == "–"
