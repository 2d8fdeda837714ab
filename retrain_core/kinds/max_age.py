"""The `max_age` trigger: the champion is older than a duration (a fact, not smoothed)."""

from __future__ import annotations

from datetime import timedelta

from retrain_core.base.durations import PositiveDuration
from retrain_core.base.outcome import CheckOutcome
from retrain_core.kinds.context import Context
from retrain_core.policy.registry import CheckKind


def evaluate(max_age: timedelta, ctx: Context) -> list[CheckOutcome]:
    """FAIL when the champion is older than `max_age`, or when there is none yet."""
    from retrain_core.checks.freshness import check_max_age

    created = ctx.champion.created_at if ctx.champion else None
    return [check_max_age(created, ctx.now, max_age, ctx.rule_id)]


KIND = CheckKind(
    key="max_age",
    model=PositiveDuration,
    description="Fire when the champion is older than this (e.g. 30d).",
    evaluate=evaluate,
    outcome="champion",
    smoothed=False,
    order=70,
    example="30d",
)
