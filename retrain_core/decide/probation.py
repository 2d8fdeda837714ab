"""Probation: a freshly promoted champion is watched, and rolled back when it serves worse.

With `promotion.probation: {period: 7d}`, each check within `period` of a promotion compares the
champion's metric on the labelled rows it served (newer than its promotion and its training data)
with what the previous champion (the `previous_alias` version) achieved on the labelled rows it
served before it was replaced. When the new champion is worse by more than `drop` and the fall is
significant at `confidence` (the performance check's test: a two-proportion z-test for accuracy,
a bootstrap otherwise), the monitor moves the alias back (`Registry.rollback`), records a
`rollback` run in the ledger and notifies `rolled_back`. Until each model has `min_rows` labelled
rows nothing is judged. `judge` is pure; `monitor.probation.evidence` loads the rows and
predictions it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from retrain_core.base.outcome import Status
from retrain_core.policy.schema import Policy, Probation

Labelled = tuple[Any, Any, Any]  # labels, predictions, probabilities (or None)


@dataclass(frozen=True)
class Served:
    """One version and the labelled rows it served, with its predictions on them."""

    version: str
    rows: Labelled
    classes: Any = None  # the model's `classes_` (its probability columns), for a new class


@dataclass(frozen=True)
class ProbationVerdict:
    """Whether to roll the champion back, and why."""

    rollback: bool
    reasons: tuple[str, ...]


def probation_metric(policy: Policy) -> str:
    """The metric probation compares: the policy's choice, else the one it measures on labels."""
    probation = policy.promotion.probation
    if probation is not None and probation.metric:
        return probation.metric
    return measured_metric(policy)


def measured_metric(policy: Policy) -> str:
    """The metric the policy measures on labels: its first label-reading trigger's
    (`performance`), else accuracy or rmse by task."""
    for rule in policy.triggers.evaluated:
        measured = rule.check_kind.measures(rule.config)
        if measured is not None:
            return measured.metric
    return "accuracy" if policy.model.task == "classification" else "rmse"


def on_probation(promoted_at: datetime | None, probation: Probation | None, now: datetime) -> bool:
    """True while a champion promoted at `promoted_at` is within its probation period."""
    if probation is None or promoted_at is None:
        return False
    return promoted_at <= now < promoted_at + probation.period


def judge(metric: str, probation: Probation, new: Served, old: Served) -> ProbationVerdict:
    """Roll back when the new champion is significantly worse than the old one was live (pure)."""
    from retrain_core.checks.performance import check_performance, compute_metric

    wait = [s for s in (new, old) if len(s.rows[0]) < probation.min_rows]
    if wait:
        counts = ", ".join(f"v{s.version} served {len(s.rows[0])}" for s in wait)
        reason = (
            f"probation of v{new.version}: waiting for {probation.min_rows} labelled rows "
            f"per model ({counts})"
        )
        return ProbationVerdict(False, (reason,))
    try:
        before = compute_metric(metric, *old.rows, old.classes)
    except ValueError as exc:
        return ProbationVerdict(False, (f"probation: v{old.version}'s {metric}: {exc}",))
    outcome = check_performance(
        metric, *new.rows, reference=before, drop=probation.drop,
        reference_rows=len(old.rows[0]), confidence=probation.confidence,
        reference_label=f"v{old.version} live on {len(old.rows[0])} rows", classes=new.classes,
    )  # fmt: skip
    served = f"v{new.version} on {len(new.rows[0])} live rows"
    if outcome.status is Status.FAIL:
        reason = f"probation: {served}: {outcome.reason}: rolled back to v{old.version}"
        return ProbationVerdict(True, (reason,))
    return ProbationVerdict(False, (f"probation: {served}: {outcome.reason}",))
