"""The background writer of long-term memory: in order, flushed on demand, failures logged."""

from __future__ import annotations

import logging
import threading

import pytest

from evotr.application.memory import BackgroundWrites
from evotr.domain.errors import EvoTrError

pytestmark = pytest.mark.unit


def test_writes_run_in_order_off_the_callers_thread_and_flush_waits() -> None:
    writes = BackgroundWrites()
    done: list[tuple[int, str]] = []
    gate = threading.Event()
    writes.submit(gate.wait)
    for n in range(5):
        writes.submit(lambda n=n: done.append((n, threading.current_thread().name)))
    assert done == []  # the first write is still waiting: nothing ran on the caller's thread
    gate.set()
    writes.flush()
    assert [n for n, _ in done] == [0, 1, 2, 3, 4]
    assert all(name.startswith("evotr-memory") for _, name in done)


def test_a_failed_write_is_logged_and_the_next_ones_still_run(caplog: pytest.LogCaptureFixture) -> None:
    writes = BackgroundWrites()
    done: list[str] = []

    def fail() -> None:
        raise EvoTrError("the Chroma server went away")

    with caplog.at_level(logging.WARNING):
        writes.submit(fail)
        writes.submit(lambda: done.append("after"))
        writes.flush()
    assert done == ["after"] and "the Chroma server went away" in caplog.text


def test_flush_without_writes_starts_no_thread() -> None:
    before = threading.active_count()
    BackgroundWrites().flush()
    assert threading.active_count() == before
