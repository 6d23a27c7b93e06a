"""Stop sequences: the reply ends just before the first of them, which is never shown."""

from __future__ import annotations

from typing import Any

import attrs

from evotr.domain.errors import DomainValidationError

MAX_STOP_SEQUENCES = 4  # OpenAI's limit; clients never send more


def _sequences(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)):
        raise DomainValidationError("stop", f"must be text or a list of texts, got {type(value).__name__}")
    if len(value) > MAX_STOP_SEQUENCES:
        raise DomainValidationError("stop", f"at most {MAX_STOP_SEQUENCES} sequences, got {len(value)}")
    for item in value:
        if not isinstance(item, str) or not item:
            raise DomainValidationError("stop", f"every stop sequence must be non-empty text, got {item!r}")
    return tuple(value)


@attrs.frozen(slots=True)
class StopSequences:
    """Up to four strings; generation stops at the first one that appears in the reply."""

    sequences: tuple[str, ...] = attrs.field(default=(), converter=_sequences)

    def scanner(self) -> StopScanner:
        """A fresh scanner for one reply."""
        return StopScanner(self.sequences)


@attrs.define
class StopScanner:
    """Fed the reply piece by piece, returns only text that is certainly before any stop sequence.

    A piece may end with the start of a stop sequence ("<|" of "<|end|>"): that tail is held back
    until the next piece says whether the sequence completes; ``flush`` releases it at the end.
    """

    sequences: tuple[str, ...]
    stopped: bool = False
    _held: str = ""

    def feed(self, piece: str) -> str:
        """The text safe to show now; after a stop sequence, ``stopped`` is True and nothing follows."""
        if self.stopped or not self.sequences:
            return "" if self.stopped else piece
        text = self._held + piece
        found = [i for i in (text.find(s) for s in self.sequences) if i >= 0]
        if found:
            self.stopped, self._held = True, ""
            return text[: min(found)]
        keep = self._partial_tail(text)
        self._held = text[len(text) - keep:] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """What was held back, once the reply has ended without completing a stop sequence."""
        held, self._held = self._held, ""
        return "" if self.stopped else held

    def _partial_tail(self, text: str) -> int:
        """Length of the longest end of ``text`` that begins some stop sequence."""
        longest = 0
        for sequence in self.sequences:
            for size in range(min(len(sequence) - 1, len(text)), longest, -1):
                if text.endswith(sequence[:size]):
                    longest = size
                    break
        return longest
