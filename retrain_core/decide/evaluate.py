"""Run every check a policy asks for on loaded windows: frames in, CheckOutcome values out.

No I/O here: the monitor flow loads the windows and the champion first, then calls `evaluate`,
then decides. The champion is any object with scikit-learn's `predict` / `predict_proba`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.kinds.context import Champion, Context, Windows
from retrain_core.policy.schema import Policy


def evaluate(
    policy: Policy, windows: Windows, champion: Champion | None, now: datetime
) -> list[CheckOutcome]:
    """Every outcome for this check: bad data first, then findings (a class the champion never
    saw), then quality, then each trigger's signal (from its kind's evaluator in
    `retrain_core.kinds`, named by the rule's id)."""
    outcomes = [
        CheckOutcome(f"data.{code}", Status.ERROR, reason) for code, reason in windows.problems
    ]
    outcomes += [
        CheckOutcome(f"data.{code}", Status.FAIL, reason) for code, reason in windows.findings
    ]
    if not windows.new_data:
        reason = "no new data since the last check"
        return [*outcomes, CheckOutcome("data.no_new_data", Status.PASS, reason, observed=0)]
    outcomes += class_findings(policy, windows, champion)
    if any(o.status is Status.ERROR for o in outcomes):
        return outcomes
    if policy.expectations and windows.current_profile is not None:
        from retrain_core.checks.profile_expect import window_expectations

        profile = windows.current_profile
        outcomes += window_expectations(profile, windows.current, policy.expectations)
    elif policy.expectations:
        from retrain_core.checks.validation import run_expectations

        outcomes += run_expectations(windows.current, policy.expectations)
    for rule in policy.triggers.rules:
        context = Context(policy, windows, champion, now, rule.rule_id)
        outcomes += rule.check_kind.evaluate(rule.config, context)
    for rule in policy.triggers.watch:
        context = Context(policy, windows, champion, now, rule.rule_id)
        for outcome in rule.check_kind.evaluate(rule.config, context):
            governs = outcome.check == rule.rule_id
            outcomes.append(
                replace(outcome, reason=WATCHED + outcome.reason) if governs else outcome
            )
    return outcomes


WATCHED = "watched, does not vote: "
"""How a watched trigger's outcome reads: recorded and shown on each check, never counted."""


def class_findings(
    policy: Policy, windows: Windows, champion: Champion | None
) -> list[CheckOutcome]:
    """A `data.new_class.<class>` finding per class among the newly labelled rows that the
    champion never saw (its `classes_`; the reference's classes before there is one)."""
    from retrain_core.data.labels import known_classes, new_class_outcomes

    rows = windows.labelled if policy.data.labels is not None else windows.current
    model = champion.model if champion is not None else None
    known = known_classes(model, windows.reference, policy.model.target)
    who = "the reference data"
    if champion is not None and getattr(model, "classes_", None) is not None:
        who = f"the champion (v{champion.version})"
    return new_class_outcomes(policy, rows, known, who)
