"""Run every check a policy asks for on loaded windows: frames in, CheckOutcome values out.

No I/O here: the monitor flow loads the windows and the champion first, then calls `evaluate`,
then decides. The champion is any object with scikit-learn's `predict` / `predict_proba`.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from retrain_core.checks.outcome import CheckOutcome, Status
from retrain_core.policy.schema import Policy
from retrain_core.policy.triggers import Trigger

if TYPE_CHECKING:
    from retrain_core.checks.profile import ReferenceProfile

MIN_LIVE_ROWS = 100  # live rows needed before they replace the reference as a CBPE baseline


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


def evaluate(
    policy: Policy, windows: Windows, champion: Champion | None, now: datetime
) -> list[CheckOutcome]:
    """Every outcome for this check: bad data first, then quality, then each trigger's signal."""
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
        outcomes += _signal(policy, rule, windows, champion, now)
    return outcomes


def _signal(
    policy: Policy, rule: Trigger, w: Windows, champion: Champion | None, now: datetime
) -> list[CheckOutcome]:
    """The outcomes of one trigger rule."""
    from retrain_core.checks import freshness, volume

    if rule.drift is not None:
        return _drift(policy, rule, w)
    if rule.performance is not None:
        return [_performance(policy, rule, w, champion)]
    if rule.estimated_performance is not None:
        return [_estimated(policy, rule, w, champion)]
    if rule.volume is not None:
        v = rule.volume
        baseline = len(w.reference) if v.compare_to == "reference" else w.previous_rows
        if baseline is None:
            reason = "no previous check to compare the row count with"
            return [CheckOutcome("volume.rows", Status.ERROR, reason, float(len(w.current)))]
        return [
            volume.check_volume(
                len(w.current), baseline, v.increase_pct, v.decrease_pct, v.compare_to
            )
        ]
    if rule.freshness is not None:
        return [freshness.check_freshness(w.newest, now, rule.freshness.max_delay)]
    if rule.new_data is not None:
        return [volume.check_new_data(len(w.current), rule.new_data.min_rows)]
    assert rule.max_age is not None
    created = champion.created_at if champion else None
    return [freshness.check_max_age(created, now, rule.max_age)]


def _drift(policy: Policy, rule: Trigger, w: Windows) -> list[CheckOutcome]:
    """Drift on the monitored features (all of the model's, unless the rule names some)."""
    from retrain_core.checks.drift import detect_drift

    assert rule.drift is not None
    d = rule.drift
    wanted = set(d.features or policy.model.features.all)
    numeric = [f for f in policy.model.features.numeric if f in wanted]
    categorical = [f for f in policy.model.features.categorical if f in wanted]
    excluded: list[CheckOutcome] = []
    if d.time_like == "exclude":
        moving = time_like_features(w.reference, numeric, policy.data.timestamp)
        numeric = [f for f in numeric if f not in moving]
        if moving:
            reason = (
                f"not tested for drift: {', '.join(moving)} only move one way in time in the "
                "reference (dates, counters drift against any past data); set time_like: keep "
                "to test them"
            )
            excluded.append(CheckOutcome("drift.time_like", Status.PASS, reason, len(moving)))
    return excluded + detect_drift(
        w.reference, w.current, numeric, categorical,
        method=d.method, p_value=d.p_value, correction=d.correction,
        min_effect=d.min_effect, min_share=d.min_share, profile=w.profile,
    )  # fmt: skip


def time_like_features(
    reference: pd.DataFrame, numeric: list[str], timestamp: str | None, min_rows: int = 20
) -> list[str]:
    """Numeric features that never go back in time in the reference (and take several values)."""
    if len(reference) < min_rows:
        return []
    frame = reference
    if timestamp is not None and timestamp in reference.columns:
        frame = reference.sort_values(timestamp, kind="stable")
    moving = []
    for name in numeric:
        if name not in frame.columns:
            continue
        values = pd.to_numeric(frame[name], errors="coerce").dropna().to_numpy()
        if len(values) < min_rows or len(set(values[:1000].tolist())) < 2:
            continue
        steps = values[1:] - values[:-1]
        if (steps >= 0).all() or (steps <= 0).all():
            moving.append(name)
    return moving


def _performance(
    policy: Policy, rule: Trigger, w: Windows, champion: Champion | None
) -> CheckOutcome:
    """The champion's metric on the rows whose labels arrived since the last check."""
    from retrain_core.checks.performance import check_performance

    assert rule.performance is not None
    p = rule.performance
    name = f"performance.{p.metric}"
    if champion is None or champion.model is None:
        return CheckOutcome(name, Status.ERROR, "no champion yet")
    rows = w.labelled
    if rows is None or rows.empty:
        return CheckOutcome(name, Status.ERROR, "no labels arrived since the last check")
    rows = rows[rows[policy.model.target].notna()]
    if len(rows) < p.min_rows:
        reason = f"only {len(rows)} labelled rows (< {p.min_rows}): too few to judge"
        return CheckOutcome(name, Status.ERROR, reason, observed=float(len(rows)))
    predicted = _predictions(policy, champion, rows)
    reference, n_reference, label, stretches = _baseline(policy, rule, w, champion, len(rows))
    return check_performance(
        p.metric, rows[policy.model.target].to_numpy(), *predicted,
        below=p.below, above=p.above, reference=reference, drop=p.drop,
        reference_rows=n_reference, confidence=p.confidence, reference_label=label,
        reference_batches=stretches,
    )  # fmt: skip


def _baseline(
    policy: Policy, rule: Trigger, w: Windows, champion: Champion, size: int
) -> tuple[float | None, int | None, str, list[float]]:
    """What `drop` is measured from: the champion's measured performance on its live rows.

    Every labelled row it served and was not trained on, before this check, once there are
    `baseline_rows` of them; its holdout score until then. Not only its first live rows: a
    transient bad stretch right after a promotion (a covariate shift that passed) would anchor
    the floor so low that a later, real drop never looks like one. With the live level come the
    champion's scores on consecutive stretches of `size` live rows (its usual swing).
    """
    assert rule.performance is not None
    p = rule.performance
    live = _live_baseline(policy, rule, w, champion, size) if p.baseline == "live" else None
    if live is not None:
        return live
    return champion.metrics.get(p.metric), champion.holdout_rows or None, "holdout", []


def _live_baseline(
    policy: Policy, rule: Trigger, w: Windows, champion: Champion, size: int
) -> tuple[float, int, str, list[float]] | None:
    """The champion's metric on all its live labelled rows, once there are `baseline_rows`,
    and on each run of `size` consecutive live rows (oldest first; the oldest rows that do not
    fill a run are left out, so runs end where the newest batch ends)."""
    assert rule.performance is not None
    p = rule.performance
    if w.live is None:
        return None
    live = w.live[w.live[policy.model.target].notna()]
    if len(live) < p.baseline_rows:
        return None
    from retrain_core.checks.performance import compute_metric

    y_true = live[policy.model.target].to_numpy()
    y_pred, proba = _predictions(policy, champion, live)
    try:
        value = compute_metric(p.metric, y_true, y_pred, proba)
    except ValueError:
        return None
    stretches = []  # anchored at the newest row, so the last stretch is the latest batch
    for start in range(len(live) % max(size, 1), len(live) - size + 1, max(size, 1)):
        part = slice(start, start + size)
        with suppress(ValueError):
            chunk_proba = None if proba is None else proba[part]
            stretches.append(compute_metric(p.metric, y_true[part], y_pred[part], chunk_proba))
    return value, len(live), f"live baseline ({len(live)} rows served)", stretches


def _predictions(policy: Policy, champion: Champion, rows: pd.DataFrame) -> tuple[Any, Any]:
    """The champion's predictions and (for classifiers) probabilities on labelled rows."""
    features = rows[policy.model.features.all]
    proba = _proba(champion.model, features) if policy.model.task == "classification" else None
    return champion.model.predict(features), proba


def _estimated(
    policy: Policy, rule: Trigger, w: Windows, champion: Champion | None
) -> CheckOutcome:
    """CBPE: the champion's expected metric on the current window against its live rows.

    The baseline is the same estimate on rows the champion served and was not trained on (a
    model is overconfident on its own training rows); the reference until enough exist.
    """
    from retrain_core.checks.performance import check_estimated_performance

    assert rule.estimated_performance is not None
    e = rule.estimated_performance
    name = f"estimated_performance.{e.metric}"
    if champion is None or champion.model is None:
        return CheckOutcome(name, Status.ERROR, "no champion yet")
    if policy.model.task != "classification" or not hasattr(champion.model, "predict_proba"):
        return CheckOutcome(name, Status.ERROR, "the champion gives no probabilities")
    features = policy.model.features.all
    current = _proba(champion.model, w.current[features])
    baseline = w.reference
    if w.live is not None and len(w.live) >= MIN_LIVE_ROWS:
        baseline = w.live.head(MIN_LIVE_ROWS * 5)
    reference = _proba(champion.model, baseline[features])
    return check_estimated_performance(e.metric, current, reference, e.drop)


def _proba(model: Any, features: pd.DataFrame) -> Any:
    """Class probabilities, or None when the model has none."""
    return model.predict_proba(features) if hasattr(model, "predict_proba") else None
