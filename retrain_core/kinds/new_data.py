"""The `new_data` trigger: new rows since the last check (a fact, not smoothed)."""

from __future__ import annotations

from pydantic import Field

from retrain_core.base.outcome import CheckOutcome
from retrain_core.kinds.context import Context
from retrain_core.policy.base import Strict
from retrain_core.policy.registry import CheckKind


class NewDataTrigger(Strict):
    """New rows since the last check (the watermark in the ledger)."""

    min_rows: int = Field(1, ge=1, description="Fire when at least this many new rows arrived.")


def evaluate(n: NewDataTrigger, ctx: Context) -> list[CheckOutcome]:
    """FAIL when at least `min_rows` rows arrived since the last check."""
    from retrain_core.checks.volume import check_new_data

    return [check_new_data(ctx.windows.rows, n.min_rows, ctx.rule_id)]


KIND = CheckKind(
    key="new_data",
    model=NewDataTrigger,
    description="New rows since the last check.",
    evaluate=evaluate,
    outcome="rows",
    smoothed=False,
    order=60,
    example={"min_rows": 1},
)
