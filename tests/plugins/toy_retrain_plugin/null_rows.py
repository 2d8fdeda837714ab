"""A trigger kind: fire when more rows than `max_nulls` have a null in `column`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.policy.base import Strict
from retrain_core.policy.registry import CheckKind


class NullRows(Strict):
    """Too many rows with a null value in one column."""

    column: str = Field(description="The column whose nulls are counted.")
    max_nulls: int = Field(ge=0, description="Fire when more rows than this have a null.")


def count_nulls(settings: NullRows, ctx: Any) -> list[CheckOutcome]:
    """One outcome named by the rule id: FAIL when the current window has too many nulls."""
    nulls = int(ctx.windows.current[settings.column].isna().sum())
    status = Status.FAIL if nulls > settings.max_nulls else Status.PASS
    return [CheckOutcome(ctx.rule_id, status, f"{nulls} null rows", nulls, settings.max_nulls)]


KIND = CheckKind(
    key="null_rows",
    model=NullRows,
    description="Rows with a null in a column.",
    evaluate=count_nulls,
    outcome="count",
)
