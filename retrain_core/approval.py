"""Pending approvals in the registry: a challenger waiting for a person blocks new trainings.

With `approval: manual`, the training flow tags the registered challenger `retrain.approval =
pending` with its deadline and hands it to its own approve run (flows/approve.py); that run (or a
check, below) tags it `approved`, `rejected` or `expired` once it is answered. A later check
reads the pending tag and does not start another training while the deadline is ahead
(`hold_for_approval`); a pending tag past its deadline no longer holds, and the check that finds
it (`overdue`) rejects that version with `expiry_reason`: under a deployment the approval waits
suspended, so no process of its own is left to reject it when Prefect's pause timeout fails its
run.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from retrain_core.decision import RetrainDecision

if TYPE_CHECKING:
    from mlflow import MlflowClient

APPROVAL = "retrain.approval"
DEADLINE = "retrain.approval_deadline"
PENDING = "pending"
EXPIRED = "expired"
SUPPRESSED_BY = "approval-pending"
PENDING_APPROVAL = "pending-approval"  # a training's outcome while its challenger waits


def mark_pending(client: MlflowClient, name: str, version: str, deadline: datetime) -> None:
    """Tag the challenger as waiting for a person until `deadline`."""
    client.set_model_version_tag(name, version, DEADLINE, deadline.isoformat())
    client.set_model_version_tag(name, version, APPROVAL, PENDING)


def mark_answered(client: MlflowClient, name: str, version: str, answer: str) -> None:
    """Tag the challenger with the answer: approved, rejected or expired."""
    client.set_model_version_tag(name, version, APPROVAL, answer)


def pending(client: MlflowClient, name: str, now: datetime) -> tuple[str, datetime] | None:
    """The version waiting for approval at `now` and its deadline, or None."""
    found: list[Any] = client.search_model_versions(
        f"name = '{_quoted(name)}' and tags.`{APPROVAL}` = '{PENDING}'"
    )
    waiting = []
    for version in found:
        try:
            deadline = datetime.fromisoformat(version.tags.get(DEADLINE, ""))
        except ValueError:
            continue
        if deadline > now:
            waiting.append((str(version.version), deadline))
    return max(waiting, key=lambda item: int(item[0])) if waiting else None


def overdue(client: MlflowClient, name: str, now: datetime) -> list[str]:
    """Versions still tagged pending whose deadline is not after `now` (nobody answered)."""
    found: list[Any] = client.search_model_versions(
        f"name = '{_quoted(name)}' and tags.`{APPROVAL}` = '{PENDING}'"
    )
    late = []
    for version in found:
        try:
            deadline = datetime.fromisoformat(version.tags.get(DEADLINE, ""))
        except ValueError:
            deadline = None  # an unreadable deadline holds nothing: answer it now
        if deadline is None or deadline <= now:
            late.append(str(version.version))
    return sorted(late, key=int)


def is_pending(client: MlflowClient, name: str, version: str) -> bool:
    """True while `version` waits for an answer (not approved, rejected or expired yet)."""
    return bool(client.get_model_version(name, version).tags.get(APPROVAL) == PENDING)


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


def _quoted(text: str) -> str:
    return text.replace("'", "\\'")
