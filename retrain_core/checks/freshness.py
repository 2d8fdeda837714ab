"""Time checks: is the newest data late, and is the champion model too old?

FAIL means "this trigger's condition holds": the data is staler than ``max_delay``, or the
champion is older than ``max_age`` (or there is no champion yet, which is a reason to train).
Every datetime is timezone-aware UTC; observed and threshold values are in seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from retrain_core.base.durations import format_duration
from retrain_core.base.outcome import SECONDS, CheckOutcome, Status


def check_freshness(
    newest: datetime | None, now: datetime, max_delay: timedelta, check: str = "freshness.newest"
) -> CheckOutcome:
    """FAIL when the newest row is older than `max_delay`; ERROR when there is no timestamp."""
    _require_aware(now, "now")
    if newest is None:
        return CheckOutcome(check, Status.ERROR, "no timestamp: the window has no dated rows")
    if newest.tzinfo is None:
        return CheckOutcome(check, Status.ERROR, f"newest timestamp {newest} has no timezone")
    return _judge(check, "newest row", now - newest, max_delay)


def check_max_age(
    champion_created: datetime | None,
    now: datetime,
    max_age: timedelta,
    check: str = "max_age.champion",
) -> CheckOutcome:
    """FAIL when the champion is older than `max_age`, or when there is no champion yet."""
    _require_aware(now, "now")
    if champion_created is None:
        limit = max_age.total_seconds()
        return CheckOutcome(check, Status.FAIL, "no champion yet", None, limit, unit=SECONDS)
    if champion_created.tzinfo is None:
        reason = f"champion creation time {champion_created} has no timezone"
        return CheckOutcome(check, Status.ERROR, reason)
    return _judge(check, "champion", now - champion_created, max_age)


def _judge(check: str, subject: str, age: timedelta, limit: timedelta) -> CheckOutcome:
    if age < timedelta(0):
        reason = f"{subject} is {format_duration(-age)} in the future (clock skew?)"
        return CheckOutcome(
            check, Status.PASS, reason, age.total_seconds(), limit.total_seconds(), unit=SECONDS
        )
    old = age > limit
    reason = (
        f"{subject} is {format_duration(age)} old {'>' if old else '<='} {format_duration(limit)}"
    )
    status = Status.FAIL if old else Status.PASS
    return CheckOutcome(
        check, status, reason, age.total_seconds(), limit.total_seconds(), unit=SECONDS
    )


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got {value!r}")
