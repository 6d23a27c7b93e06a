"""``<home>/router/learned.jsonl``: messages the user re-labelled, which the router trains on.

One ``{"text": ..., "intent": ...}`` per line, appended (O_APPEND, one write, fsync) under an
exclusive lock so two processes never interleave lines. A message is compared as the router's
features see it (Turkish-folded, whitespace collapsed): the same label twice is written once,
and a later label for a message replaces the earlier one when read. A last line cut short by a
killed process is ignored when read and cut off before the next append.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from evotr.domain.intents import ALL_INTENTS, Intent
from evotr.domain.text import fold
from evotr.infrastructure.filesystem.atomic import fsync_dir
from evotr.infrastructure.router.dataset import RouterDataError
from evotr.ports.learned_routes import LearnedRoutes

FILE_NAME = "learned.jsonl"


def route_key(text: str) -> str:
    """A message as the router's features see it: folded, whitespace collapsed."""
    return " ".join(fold(text).split())


class LearnedRoutesFile(LearnedRoutes):
    """The learned examples of one home; the file and its folder are created on the first add."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def add(self, text: str, intent: Intent) -> bool:
        """Append ``text`` → ``intent`` unless that is already its current label."""
        if not text.strip():
            raise RouterDataError(f"{self.path}: a learned example needs a message")
        line = (json.dumps({"text": text, "intent": intent.value}, ensure_ascii=False) + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._locked() as fd:
                raw = _read_all(fd)
                complete = raw[: raw.rfind(b"\n") + 1]
                if len(complete) < len(raw):
                    os.ftruncate(fd, len(complete))  # an unfinished line from a killed writer
                current = dict(_parse(complete, self.path))
                if current.get(route_key(text), (None, None))[1] is intent:
                    return False
                os.write(fd, line)
                os.fsync(fd)
        except OSError as error:
            raise RouterDataError(f"{self.path}: cannot record the learned example "
                                  f"({error.strerror or error})") from None
        fsync_dir(self.path.parent)
        return True

    def examples(self) -> Sequence[tuple[str, Intent]]:
        """Each message's latest label, in first-learned order; a missing file has none."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as error:
            raise RouterDataError(f"{self.path}: cannot read ({error.strerror or error})") from None
        return list(dict(_parse(raw[: raw.rfind(b"\n") + 1], self.path)).values())

    @contextmanager
    def _locked(self) -> Iterator[int]:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(raw: bytes, path: Path) -> Iterator[tuple[str, tuple[str, Intent]]]:
    """(key, (text, intent)) per complete line; a bad line is one error naming file:line."""
    valid = ", ".join(i.value for i in ALL_INTENTS)
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise RouterDataError(f"{where}: not a JSON line ({error})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str) \
                or not record["text"].strip():
            raise RouterDataError(f'{where}: expected {{"text": <message>, "intent": <intent>}}')
        if record.get("intent") not in {i.value for i in ALL_INTENTS}:
            raise RouterDataError(f"{where}: unknown intent {record.get('intent')!r}; valid intents: {valid}")
        yield route_key(record["text"]), (record["text"], Intent(record["intent"]))


def with_learned(examples: Mapping[Intent, Sequence[str]],
                 learned: Sequence[tuple[str, Intent]]) -> dict[Intent, list[str]]:
    """The configured examples plus the learned ones; a learned label overrides the file's.

    A message the user re-labelled is removed from every other intent's examples, so the
    router is never taught two answers for the same text.
    """
    relabelled = {route_key(text) for text, _ in learned}
    merged = {i: [t for t in examples.get(i, ()) if route_key(t) not in relabelled] for i in ALL_INTENTS}
    for text, intent in learned:
        merged[intent].append(text)
    return merged
