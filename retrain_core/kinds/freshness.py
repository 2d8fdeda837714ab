"""The `freshness` trigger: the age of the newest row (needs `data.timestamp`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from retrain_core.base.durations import PositiveDuration
from retrain_core.base.outcome import CheckOutcome
from retrain_core.kinds.context import Context
from retrain_core.policy.base import Strict
from retrain_core.policy.registry import CheckKind

if TYPE_CHECKING:
    from retrain_core.policy.finding import Finding
    from retrain_core.policy.yamlio import Path_


class FreshnessTrigger(Strict):
    """Age of the newest row (needs `data.timestamp`)."""

    max_delay: PositiveDuration = Field(description="Fire when the newest row is older than this.")


def evaluate(f: FreshnessTrigger, ctx: Context) -> list[CheckOutcome]:
    """FAIL when the newest row of the current window is older than `max_delay`."""
    from retrain_core.checks.freshness import check_freshness

    return [check_freshness(ctx.windows.newest, ctx.now, f.max_delay, ctx.rule_id)]


def findings(settings: Any, data: dict[str, Any], path: Path_) -> list[Finding]:
    """Freshness reads each row's time: the policy must name its column."""
    from retrain_core.policy.finding import Finding
    from retrain_core.policy.semantics import NEEDS_TIMESTAMP, get

    if get(data, "data", "timestamp"):
        return []
    return [Finding(path, f"a freshness trigger {NEEDS_TIMESTAMP}")]


KIND = CheckKind(
    key="freshness",
    model=FreshnessTrigger,
    description="Stale data.",
    evaluate=evaluate,
    outcome="newest",
    label_blind=True,
    findings=findings,
    order=50,
    example={"max_delay": "2d"},
)
