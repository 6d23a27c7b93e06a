"""Servers for the `evotr serve` tests: a real uvicorn on 127.0.0.1 (a free port) over a real home."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from dependency_injector import providers

from evotr.container import Container
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message
from evotr.domain.sampling import SamplingParams
from evotr.entrypoints.http.server import ServeOptions, running, services_for


class GatedLLM:
    """The real backend, except that each reply stops after its first piece until ``release`` is set.

    It lets a test hold the one worker busy (a full queue) or disconnect while a reply is
    certainly unfinished, without timing anything.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.release = threading.Event()
        self.holding = threading.Event()  # a reply is waiting at the gate now

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def stream(self, messages: Sequence[Message], params: SamplingParams,
               adapter: AdapterVersion | None = None) -> Iterator[str]:
        pieces = self._inner.stream(messages, params, adapter)

        def gated() -> Iterator[str]:
            try:
                for number, piece in enumerate(pieces):
                    yield piece
                    if number == 0:
                        self.holding.set()
                        self.release.wait(timeout=60)  # a safety net, not a measurement
                        self.holding.clear()
            finally:
                pieces.close()

        return gated()


@contextmanager
def serving(container: Container, *, api_key: str | None = None,
            wrap_llm: Callable[[Any], Any] | None = None) -> Iterator[str]:
    """Serve ``container``'s home; yields the base URL (http://127.0.0.1:PORT)."""
    if wrap_llm is not None:
        container.models.llm.override(providers.Object(wrap_llm(container.models.llm())))
    with running(services_for(container), ServeOptions(port=0, api_key=api_key)) as url:
        yield url


def wait_for(url: str, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll /health until ``condition`` holds on its queue stats (the test fails if it never does)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        queue: dict[str, Any] = httpx.get(f"{url}/health").json()["queue"]
        if condition(queue):
            return queue
        time.sleep(0.02)
    raise AssertionError(f"the server's queue never reached the expected state: {queue}")


def set_max_queue(home: Path, size: int) -> None:
    """Edit the home's evotr.yaml: ``serve.max_queue: size``."""
    config = home / "evotr.yaml"
    text = config.read_text("utf-8")
    assert "max_queue: 16" in text, "the shipped evotr.yaml no longer has serve.max_queue: 16"
    config.write_text(text.replace("max_queue: 16", f"max_queue: {size}"), "utf-8")
