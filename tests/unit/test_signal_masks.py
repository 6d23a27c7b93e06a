"""Ctrl-C stays with the main thread: threads we (or Chroma) start never take SIGINT."""

from __future__ import annotations

import signal
import threading

import pytest

from evotr.application.memory.writes import BackgroundWrites
from evotr.infrastructure.chroma.client import signals_blocked

pytestmark = pytest.mark.unit


def _mask_of_a_new_thread() -> set[int]:
    seen: list[set[int]] = []
    thread = threading.Thread(target=lambda: seen.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, []))))
    thread.start()
    thread.join()
    return seen[0]


def test_threads_started_while_opening_chroma_block_sigint_and_the_main_thread_gets_its_mask_back() -> None:
    before = set(signal.pthread_sigmask(signal.SIG_BLOCK, []))
    assert signal.SIGINT not in _mask_of_a_new_thread()  # the default: any thread may take Ctrl-C
    with signals_blocked():
        assert {signal.SIGINT, signal.SIGTERM} <= _mask_of_a_new_thread()
    assert set(signal.pthread_sigmask(signal.SIG_BLOCK, [])) == before
    assert signal.SIGINT not in before


def test_the_memory_writer_thread_blocks_sigint() -> None:
    writes = BackgroundWrites()
    seen: list[set[int]] = []
    writes.submit(lambda: seen.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, []))))
    writes.flush()
    assert {signal.SIGINT, signal.SIGTERM} <= seen[0]
