"""Reading a run's bytes into records, shared by the file store and the in-memory store.

A line counts once its newline is written. A last line without one is kept if it is a whole
JSON object (the newline is all that is missing) and is otherwise an unfinished write from a
killed process: ignored, counted, and cut off by the next ``open_run`` of the category.
"""

from __future__ import annotations

import json

from evotr.ports.sample_store import BadLine, StoredRecord


def parse_run(name: str, run_id: str, raw: bytes) -> tuple[list[StoredRecord], list[BadLine], list[BadLine]]:
    """Records, unfinished last lines and malformed lines of one run; ``name`` prefixes locations."""
    records: list[StoredRecord] = []
    truncated: list[BadLine] = []
    malformed: list[BadLine] = []
    lines = raw.split(b"\n")
    tail = lines.pop()  # what follows the last newline: b"" for a cleanly ended file
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # a blank line carries no sample and harms nothing
        data, problem = decode_line(line)
        if data is None:
            malformed.append(BadLine(f"{name}:{number}", problem))
        else:
            records.append(StoredRecord(f"{name}:{number}", run_id, data))
    if tail.strip():
        where = f"{name}:{len(lines) + 1}"
        data, problem = decode_line(tail)
        if data is None:
            truncated.append(BadLine(where, f"unfinished last line ({problem})"))
        else:
            records.append(StoredRecord(where, run_id, data))
    return records, truncated, malformed


def decode_line(line: bytes) -> tuple[dict[str, object] | None, str]:
    """The JSON object on ``line``, or None and what is wrong."""
    try:
        data = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 ({exc.reason} at byte {exc.start})"
    except ValueError as exc:
        return None, f"not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"expected a JSON object, found {type(data).__name__}"
    return data, ""


def encode_record(record: object) -> bytes:
    """One JSON line (UTF-8, Turkish letters kept readable), newline included."""
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
