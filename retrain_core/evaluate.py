"""Run every check a policy asks for on loaded windows: frames in, CheckOutcome values out.

No I/O here: the monitor flow loads the windows and the champion first, then calls `evaluate`,
then decides. The champion is any object with scikit-learn's `predict` / `predict_proba`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from retrain_core.checks.outcome import CheckOutcome, Status
from retrain_core.kinds import Context
from retrain_core.policy.schema import Policy

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.checks.profile import ReferenceProfile


@dataclass(frozen=True)
class Champion:
    """The model serving now: its registry version, age, holdout metrics and loaded pipeline."""

    version: str
    created_at: datetime
    metrics: dict[str, float] = field(default_factory=dict)
    model: Any = None
    trained_until: datetime | None = None  # its newest training row: later rows are unseen
    holdout_rows: int = 0  # how many rows its holdout metrics were measured on
    run_id: str | None = None  # its training run (holds its reference sample)


@dataclass(frozen=True)
class Windows:
    """The frames one check looks at.

    `current` holds the new rows (features); `labelled` the rows whose labels arrived since the
    last check, joined with their features; `live` the earlier labelled rows the champion served
    and was not trained on, oldest first (its live baseline); `new_data` is False when a
    since-last-check window found nothing new; `problems` are bad-data findings from loading.
    `reference` is what drift compares with: the champion's training sample or the fixed file;
    `profile` is the reference's stored profile (`checks.profile`), when there is one.
    `swings` are the stream's usual swing between checks by performance rule, from earlier
    champions (`decision.swings`): the yardstick for a champion too new to have its own.
    """

    reference: pd.DataFrame
    current: pd.DataFrame
    labelled: pd.DataFrame | None = None
    newest: datetime | None = None
    previous_rows: int | None = None
    new_data: bool = True
    problems: tuple[tuple[str, str], ...] = ()
    profile: ReferenceProfile | None = None
    live: pd.DataFrame | None = None
    swings: dict[str, tuple[float, ...]] = field(default_factory=dict)


def evaluate(
    policy: Policy, windows: Windows, champion: Champion | None, now: datetime
) -> list[CheckOutcome]:
    """Every outcome for this check: bad data first, then quality, then each trigger's signal
    (from its kind's evaluator in `retrain_core.kinds`, named by the rule's id)."""
    outcomes = [
        CheckOutcome(f"data.{code}", Status.ERROR, reason) for code, reason in windows.problems
    ]
    if not windows.new_data:
        reason = "no new data since the last check"
        return [*outcomes, CheckOutcome("data.no_new_data", Status.PASS, reason, observed=0)]
    if outcomes:
        return outcomes
    if policy.expectations:
        from retrain_core.checks.validation import run_expectations

        outcomes += run_expectations(windows.current, policy.expectations)
    for rule in policy.triggers.rules:
        context = Context(policy, windows, champion, now, rule.rule_id)
        outcomes += rule.check_kind.evaluate(rule.config, context)
    return outcomes
