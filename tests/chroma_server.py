"""A real `chroma run` server for the tests of Chroma's HttpClient (memory.chroma_url)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

STARTUP_DEADLINE_S = 60.0


def free_port() -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``chroma run --host 127.0.0.1 --port <free> --path <tmp>``; yields its URL, stops it after."""
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = (folder / "server.log").open("wb")
    command = [str(Path(sys.executable).with_name("chroma")), "run", "--host", "127.0.0.1",
               "--port", str(port), "--path", str(folder / "data")]
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(server, url, folder / "server.log")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_until_up(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    # A deadline on waiting for start-up, not a timed assertion: a slow machine only waits longer.
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = log.read_text("utf-8", "replace")[-2000:]
            pytest.fail(f"chroma run exited with {server.returncode}: {output}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"chroma run did not answer on {url} within {STARTUP_DEADLINE_S:.0f} s")
