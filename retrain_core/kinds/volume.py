"""The `volume` trigger: the current window's row count against a baseline."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.kinds.context import Context
from retrain_core.policy.base import Strict
from retrain_core.policy.registry import CheckKind


class VolumeTrigger(Strict):
    """Row count of the current window against the reference or the previous window."""

    compare_to: Literal["reference", "previous"] = Field(
        "previous", description="Baseline row count: the reference window or the previous check."
    )
    increase_pct: float | None = Field(
        None, gt=0, description="Fire when the row count grew by at least this percentage."
    )
    decrease_pct: float | None = Field(
        None, gt=0, le=100, description="Fire when the row count fell by at least this percentage."
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> VolumeTrigger:
        if self.increase_pct is None and self.decrease_pct is None:
            raise ValueError("set increase_pct, decrease_pct or both")
        return self


def evaluate(v: VolumeTrigger, ctx: Context) -> list[CheckOutcome]:
    """The row count of the current window against the reference or the previous check."""
    from retrain_core.checks.volume import check_volume

    w = ctx.windows
    baseline = len(w.reference) if v.compare_to == "reference" else w.previous_rows
    if baseline is None:
        reason = "no previous check to compare the row count with"
        return [CheckOutcome(ctx.rule_id, Status.ERROR, reason, float(w.rows))]
    return [
        check_volume(w.rows, baseline, v.increase_pct, v.decrease_pct, v.compare_to, ctx.rule_id)
    ]


KIND = CheckKind(
    key="volume",
    model=VolumeTrigger,
    description="Row count change.",
    evaluate=evaluate,
    outcome="rows",
    label_blind=True,
    order=40,
    example={"increase_pct": 50},
)
