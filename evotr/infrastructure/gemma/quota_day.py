"""Google's quota day: requests-per-day counters restart at midnight Pacific time (America/Los_Angeles)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _pacific() -> tzinfo:
    try:
        return ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:  # no tz database: PST all year (resets an hour late in summer)
        return timezone(timedelta(hours=-8), "PST")


def next_daily_reset(epoch_s: float) -> float:
    """Epoch seconds of the first midnight in Pacific time strictly after ``epoch_s``."""
    now = datetime.fromtimestamp(epoch_s, _pacific())
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    return midnight.timestamp()


def day_start(epoch_s: float) -> float:
    """Epoch seconds of the last midnight in Pacific time at or before ``epoch_s``."""
    now = datetime.fromtimestamp(epoch_s, _pacific())
    return datetime.combine(now.date(), datetime.min.time(), now.tzinfo).timestamp()
