"""Rich rendering for the CLI: tables and one-line messages, nothing else."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table

from evotr.application.adapters import FamilyReport
from evotr.application.feedback import FeedbackReport
from evotr.ports.background_training import BackgroundRun


def training_started(run: BackgroundRun) -> str:
    """The line shown when a verdict started `feedback train` in the background."""
    return (f"🔁 {run.family} eğitimi arka planda başladı / training {run.family} in the background "
            f"(pid {run.pid}, log {run.log}); chat goes on with the current adapter")


def print_json(console: Console, payload: object) -> None:
    """Plain JSON (no colour codes) so pipes and `jq` can read it."""
    console.file.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def feedback_table(report: FeedbackReport) -> Table:
    """The stats the old product printed, with its emoji."""
    table = Table(title="Feedback", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("Toplam feedback (total)", str(report.stats.total))
    table.add_row("✏️  Düzeltme (corrections)", str(report.stats.corrections))
    table.add_row("👎 Negatif (thumbs down)", str(report.stats.thumbs_down))
    table.add_row("👍 Pozitif (thumbs up)", str(report.stats.thumbs_up))
    cache = report.cache
    table.add_row("Örnek önbelleği (exemplar cache)",
                  f"{cache.hits} hit / {cache.misses} miss ({cache.hit_rate:.0%})")
    return table


def adapters_table(reports: Sequence[FamilyReport]) -> Table:
    """One row per family: intents, active version, versions, status."""
    table = Table(title="Adapters")
    for column in ("family", "intents", "active", "val loss", "versions", "status"):
        table.add_column(column)
    for r in reports:
        table.add_row(
            r.family.name,
            ", ".join(i.value for i in r.intents),
            r.active.name if r.active else "— (base model)",
            val_loss_summary(r.metrics),
            ", ".join(v.name for v in r.versions) or "—",
            r.status,
        )
    return table


def val_loss_summary(metrics: Mapping[str, float | None]) -> str:
    """``3.074 → 0.257 (−92%)`` from a manifest's metrics; ``—`` when training recorded none."""
    start, final = metrics.get("start_val_loss"), metrics.get("final_val_loss")
    if final is None:
        return "—"
    if start is None:
        return f"{final:.3f}"
    change = metrics.get("improvement_pct")
    return f"{start:.3f} → {final:.3f}" + ("" if change is None else f" (−{change:.0f}%)" if change >= 0
                                            else f" (+{-change:.0f}%)")


# C0 controls except tab and newline, DEL, C1 controls, and the bidi overrides/isolates that can
# make a terminal show text other than what was written ("Trojan Source").
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """Model output as a terminal may show it: control characters become visible escapes.

    A model (or a prompt-injected document) can emit ESC sequences that recolour, move the cursor,
    retitle the window or hide text; ``\\x1b`` is shown instead of obeyed.
    """
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
