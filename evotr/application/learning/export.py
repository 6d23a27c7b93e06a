"""Use case: judged turns → SFT, DPO or KTO training files in the shapes mlx-lm and TRL read.

Every row starts from the exact messages the model was sent (system prompt, kept history,
recalled context, the user's message), so training sees the prompt the user saw:

- ``sft``: corrections; ``{"messages": [...sent, {"role": "assistant", "content": correction}]}``
  (mlx-lm's chat format; TRL's conversational language-modeling type).
- ``dpo``: corrections that differ from the reply; TRL's conversational preference type
  ``{"prompt": [...sent], "chosen": [assistant: correction], "rejected": [assistant: reply]}``.
- ``kto``: TRL's conversational unpaired-preference type ``{"prompt", "completion", "label"}``:
  👍 → the reply, true; 👎 → the reply, false; a correction → the correction true and the reply false.

Only each turn's latest verdict counts; ``family`` keeps the turns whose intent (a correction's
stated intent, else the routed one) that family serves.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from evotr.application.adapters import require_family
from evotr.domain.adapters import AdapterFamily
from evotr.domain.conversation import Message, Role
from evotr.domain.errors import EvoTrError
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.learning import FeedbackExample
from evotr.ports.feedback_repository import FeedbackRepository
from evotr.ports.rows_writer import RowsWriter

Row = dict[str, Any]
FORMATS = ("sft", "dpo", "kto")


class NothingToExportError(EvoTrError):
    """No judged turn yields a row of the asked format; no file is written."""


def _assistant(text: str) -> list[dict[str, str]]:
    return [Message(Role.ASSISTANT, text).as_dict()]


def _prompt(example: FeedbackExample) -> list[dict[str, str]]:
    return [m.as_dict() for m in example.messages]


def sft_rows(example: FeedbackExample) -> list[Row]:
    """The sent messages and the corrected answer; none unless corrected."""
    messages = example.sft_messages()
    return [] if messages is None else [{"messages": [m.as_dict() for m in messages]}]


def dpo_rows(example: FeedbackExample) -> list[Row]:
    """correction ≻ reply on the sent messages; none unless the correction differs from the reply."""
    pair = example.preference_pair()
    if pair is None:
        return []
    return [{"prompt": _prompt(example), "chosen": _assistant(pair.chosen),
             "rejected": _assistant(pair.rejected)}]


def kto_rows(example: FeedbackExample) -> list[Row]:
    """One desirable/undesirable completion per judged answer (two for a correction)."""
    return [{"prompt": _prompt(example), "completion": _assistant(text), "label": label}
            for text, label in example.kto_rows()]


_ROWS: dict[str, Callable[[FeedbackExample], list[Row]]] = {"sft": sft_rows, "dpo": dpo_rows, "kto": kto_rows}
_NEEDS = {"sft": "corrections", "dpo": "corrections that differ from the original answer",
          "kto": "👍, 👎 or corrections"}


@attrs.frozen(slots=True)
class ExportReport:
    """What was written: the format, the file, rows, and the judged turns they came from."""

    format: str
    path: Path
    rows: int
    turns: int
    considered: int
    family: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of `evotr feedback export --json`."""
        return {"format": self.format, "path": str(self.path), "rows": self.rows, "turns": self.turns,
                "judged_turns": self.considered, "family": self.family}


class ExportFeedback:
    """Writes one training file from the judged turns, atomically (all rows or no change)."""

    def __init__(self, repository: FeedbackRepository, mapping: IntentMapping, writer: RowsWriter) -> None:
        self._repository = repository
        self._mapping = mapping
        self._writer = writer

    def execute(self, fmt: str, out: Path, family: str | None = None) -> ExportReport:
        """Export ``fmt`` rows to ``out``; refuses (writing nothing) when there are none."""
        if fmt not in _ROWS:
            raise EvoTrError(f"unknown export format {fmt!r}; formats: {', '.join(FORMATS)}")
        examples = list(self._repository.judged_turns())
        if family is not None:
            wanted = AdapterFamily(family)
            require_family(self._mapping, wanted)
            examples = [e for e in examples if self._mapping.family_for(e.intent) == wanted]
        rows: list[Row] = []
        used = 0
        for example in examples:
            made = _ROWS[fmt](example)
            used += bool(made)
            rows.extend(made)
        if not rows:
            scope = f" for family {family}" if family else ""
            raise NothingToExportError(
                f"nothing to export as {fmt}{scope}: {len(examples)} judged turns, none with "
                f"{_NEEDS[fmt]}; {out} was not written")
        written = self._writer.write_jsonl(out, rows)
        return ExportReport(fmt, out, written, used, len(examples), family)
