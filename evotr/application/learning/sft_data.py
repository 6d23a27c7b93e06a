"""Write corrections as an mlx-lm chat dataset folder (``train.jsonl`` + ``valid.jsonl``).

Each line is ``{"messages": [...]}``: the messages the turn was sent (system prompt, history,
recalled memory, the user's message) and the corrected answer, the format ``mlx_lm lora`` reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

Row = Sequence[dict[str, str]]


def _lines(rows: Sequence[Row]) -> str:
    return "".join(json.dumps({"messages": list(row)}, ensure_ascii=False) + "\n" for row in rows)


def write_chat_dataset(folder: Path, train: Sequence[Row], valid: Sequence[Row]) -> Path:
    """Create ``folder`` with both files; an empty side is an error (mlx-lm would refuse it later)."""
    if not train or not valid:
        raise ValueError(f"a chat dataset needs train and valid rows (got {len(train)} and {len(valid)})")
    folder.mkdir(parents=True, exist_ok=False)
    (folder / "train.jsonl").write_text(_lines(train), "utf-8")
    (folder / "valid.jsonl").write_text(_lines(valid), "utf-8")
    return folder
