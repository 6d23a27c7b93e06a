"""The rule "latest verdict wins": which feedback on a turn counts, and the example it makes.

Every verdict stays stored (``evotr feedback show`` lists them); training, stats and lists
count only each turn's latest one.
"""

from __future__ import annotations

from collections.abc import Iterable

from evotr.domain.feedback import Feedback
from evotr.domain.learning import FeedbackExample
from evotr.domain.turns import TurnId, TurnRecord


def latest_verdicts(history: Iterable[Feedback]) -> dict[TurnId, Feedback]:
    """Each turn's current verdict from feedback given oldest first (a later one replaces it)."""
    latest: dict[TurnId, Feedback] = {}
    for feedback in history:
        latest[feedback.turn_id] = feedback
    return latest


def judged_example(turn: TurnRecord, verdict: Feedback) -> FeedbackExample | None:
    """The learning loop's view of a judged turn; None for a 👍/👎 on an empty reply.

    A correction that names another intent trains that intent's family: the corrected answer is
    the one the intended intent should give. A correction of an empty reply (the model said
    nothing) still teaches the answer (SFT), though it makes no preference pair; a verdict on an
    empty reply without a correction teaches nothing, so such a turn is left out.
    """
    if not turn.reply.strip() and verdict.correction is None:
        return None
    return FeedbackExample(turn.id, verdict.intent or turn.intent, turn.sent_messages, turn.reply,
                           verdict.kind, verdict.correction, turn.adapter)
