"""Pending approvals in the registry: a challenger waiting for a person blocks new trainings.

With `approval: manual`, the training flow marks the registered challenger pending with its
deadline and hands it to its own approve run (flows/approve.py); that run (or a check, below)
marks it approved, rejected or expired once it is answered. A later check finds the version still
waiting and does not start another training while the deadline is ahead (`hold_for_approval`); a
pending version past its deadline no longer holds, and the check that finds it
(`Registry.approvals`) rejects that version with `expiry_reason`: under a deployment the approval
waits suspended, so no process of its own is left to reject it when Prefect's pause timeout fails
its run. The marks are tags of the version, written and read by `retrain_core.store.approvals`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from retrain_core.decide.records import RetrainDecision

SUPPRESSED_BY = "approval-pending"
PENDING_APPROVAL = "pending-approval"  # a training's outcome while its challenger waits


def expiry_reason(timeout: timedelta) -> str:
    """Why an unanswered challenger was rejected, e.g. "no approval within 0:00:05: rejected"."""
    return f"no approval within {timeout}: rejected"


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
