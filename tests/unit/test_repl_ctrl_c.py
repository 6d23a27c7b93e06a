"""Ctrl-C stops a streaming answer even when its KeyboardInterrupt is lost on the way."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from evotr.entrypoints.cli.chat_repl import Repl, ctrl_c

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def python_ctrl_c() -> Iterator[None]:
    """Python's own Ctrl-C handler, as in a terminal: a runner started in the background of a
    non-interactive shell (`cmd &`) hands its children SIGINT ignored, and ctrl_c leaves that alone."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class SwallowingAssistant:
    """Streams an endless-looking answer; the Ctrl-C's KeyboardInterrupt lands inside code that
    drops it, as a finalizer run by the garbage collector mid-answer does ("Exception ignored")."""

    def __init__(self) -> None:
        self.sent = 0
        self.swallowed = False
        self.closed = False

    def stream(self, text: str) -> Iterator[str]:
        try:
            yield "bir "
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1.0)  # the handler runs here, in the main thread
            except KeyboardInterrupt:
                self.swallowed = True
            for _ in range(1000):
                self.sent += 1
                yield "çok "
        finally:
            self.closed = True

    def flush(self) -> None:
        pass


def test_a_swallowed_ctrl_c_still_stops_the_answer() -> None:
    assistant = SwallowingAssistant()
    out = io.StringIO()
    Repl(assistant, out).run(["Bana uzun bir hikaye anlat"])  # type: ignore[arg-type]
    assert assistant.swallowed  # the exception itself was lost...
    assert assistant.sent <= 1 and assistant.closed  # ...and the answer stopped anyway
    assert "[durduruldu / stopped]" in out.getvalue()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back


def test_off_the_main_thread_nothing_is_installed() -> None:
    seen: list[object] = []

    def worker() -> None:
        with ctrl_c() as stop:
            seen.append(stop.is_set())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [False]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_someone_elses_handler_is_left_alone() -> None:
    def theirs(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGINT, theirs)
    try:
        with ctrl_c():
            assert signal.getsignal(signal.SIGINT) is theirs
        assert signal.getsignal(signal.SIGINT) is theirs
    finally:
        signal.signal(signal.SIGINT, previous)
