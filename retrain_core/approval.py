"""Pending approvals in the registry: a challenger waiting for a person blocks new trainings.

With `approval: manual`, the training flow tags the registered challenger `retrain.approval =
pending` with its deadline before it waits, and `approved`, `rejected` or `expired` once it is
answered. A later check reads the pending tag and does not start another training while the
deadline is ahead (`hold_for_approval`); a pending tag past its deadline no longer holds. The
tags are written and read by `retrain_core.store.registry.Registry`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from retrain_core.decision import RetrainDecision

APPROVAL = "retrain.approval"
DEADLINE = "retrain.approval_deadline"
PENDING = "pending"
SUPPRESSED_BY = "approval-pending"


def hold_for_approval(
    decision: RetrainDecision, waiting: tuple[str, datetime] | None
) -> RetrainDecision:
    """The decision, not retraining while a challenger waits for a person (pure)."""
    if not decision.retrain or waiting is None:
        return decision
    version, deadline = waiting
    reason = (
        f"v{version} is waiting for approval (until {deadline:%Y-%m-%d %H:%M} UTC): "
        "no new training until it is answered"
    )
    return replace(
        decision, retrain=False, suppressed_by=SUPPRESSED_BY, reasons=(*decision.reasons, reason)
    )
