"""Standard input as text, for commands that take `-`."""

from __future__ import annotations

import sys

from evotr.domain.errors import EvoTrError


def read_stdin_text() -> str:
    """All of standard input decoded as UTF-8; otherwise one line naming the bad byte."""
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvoTrError(f"standard input is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
