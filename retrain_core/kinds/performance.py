"""The `performance` trigger: the champion's measured metric on newly labelled rows."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.kinds.context import Context
from retrain_core.policy.base import METRICS, MetricName, Strict, greater_is_better, metrics_for
from retrain_core.policy.registry import CheckKind

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.kinds.context import Champion
    from retrain_core.policy.finding import Finding
    from retrain_core.policy.schema import Policy
    from retrain_core.policy.yamlio import Path_


class PerformanceTrigger(Strict):
    """The champion's measured performance on the labelled rows of the current window."""

    metric: MetricName = Field(description="Metric to measure, e.g. roc_auc, accuracy, rmse.")
    below: float | None = Field(
        None, description="Fire when a higher-is-better metric falls below this value."
    )
    above: float | None = Field(
        None, description="Fire when a lower-is-better metric (rmse, mae, log_loss) rises above."
    )
    drop: float | None = Field(
        None,
        gt=0,
        description="Fire when the metric is worse than on the champion's holdout by this much "
        "(absolute difference).",
    )
    min_rows: int = Field(
        50, ge=1, description="Fewer labelled rows than this make the check an error, not a signal."
    )
    baseline: Literal["live", "holdout"] = Field(
        "live",
        description="What `drop` is measured from: live (the champion's metric on every "
        "labelled row it served and was not trained on, before this check; its holdout score "
        "until there are `baseline_rows` of them) or holdout (its score on its own training "
        "holdout).",
    )
    baseline_rows: int = Field(
        500,
        ge=1,
        description="Labelled live rows needed before the live level counts in the baseline.",
    )
    confidence: float | None = Field(
        0.99,
        gt=0,
        lt=1,
        description="A fall of at least `drop` fires only when it is significant at this "
        "confidence for the sample sizes (one-sided two-proportion z-test for accuracy, bootstrap "
        "otherwise) and for the usual swing between batches (Student-t prediction interval): the "
        "champion's own once it has served 8 stretches of live rows as large as the new one, "
        "until then the swing earlier champions showed between checks; null compares the point "
        "values.",
    )

    detector: Literal["cusum", "none"] = Field(
        "cusum",
        description="How a fall from the live baseline is found once the champion has served "
        "`baseline_rows` labelled rows: cusum fixes its reference on those first rows (it never "
        "moves for this champion) and fires on a sustained fall, slow or sudden, of its "
        "per-batch metric (Page's CUSUM: each batch adds its fall beyond drop/2, in batch "
        "standard deviations, firing past `detector_threshold`); none compares each batch with "
        "the mean of every live row served before (the point test with `confidence`). With "
        "baseline: holdout or no `drop`, none applies.",
    )
    detector_threshold: float = Field(
        5.0,
        gt=0,
        description="The CUSUM sum, in batch standard deviations (the largest of the sampling "
        "error, the champion's swing between batches and earlier champions' swing), past which "
        "a sustained fall fires.",
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> PerformanceTrigger:
        if self.below is None and self.above is None and self.drop is None:
            raise ValueError("set at least one of below, above or drop")
        return self


def evaluate(p: PerformanceTrigger, ctx: Context) -> list[CheckOutcome]:
    """The champion's metric on the rows whose labels arrived since the last check."""
    from retrain_core.checks.performance import check_performance

    policy, w, champion, name = ctx.policy, ctx.windows, ctx.champion, ctx.rule_id
    if champion is None or champion.model is None:
        return [CheckOutcome(name, Status.ERROR, "no champion yet")]
    rows = w.labelled
    if rows is None or rows.empty:
        return [CheckOutcome(name, Status.ERROR, "no labels arrived since the last check")]
    rows = rows[rows[policy.model.target].notna()]
    if len(rows) < p.min_rows:
        reason = f"only {len(rows)} labelled rows (< {p.min_rows}): too few to judge"
        return [CheckOutcome(name, Status.ERROR, reason, observed=float(len(rows)))]
    detected = _detect(p, ctx, champion, rows)
    if detected is not None:
        return [detected]
    predicted = predictions(policy, champion, rows)
    reference, n_reference, label, stretches = _baseline(p, ctx, champion, len(rows))
    return [check_performance(
        p.metric, rows[policy.model.target].to_numpy(), *predicted,
        below=p.below, above=p.above, reference=reference, drop=p.drop,
        reference_rows=n_reference, confidence=p.confidence, reference_label=label, check=name,
        reference_batches=stretches, classes=getattr(champion.model, "classes_", None),
    )]  # fmt: skip


def _detect(
    p: PerformanceTrigger, ctx: Context, champion: Champion, rows: pd.DataFrame
) -> CheckOutcome | None:
    """The sequential detector against the champion's fixed reference (its first
    `baseline_rows` live rows), or None when it does not apply (detector none, baseline holdout,
    no `drop`, or fewer live rows than that: then its holdout is the reference, point-tested)."""
    w, policy = ctx.windows, ctx.policy
    if p.detector != "cusum" or p.baseline != "live" or p.drop is None or w.live is None:
        return None
    target, features = policy.model.target, policy.model.features.all
    live = w.live[w.live[target].notna()]
    if len(live) < p.baseline_rows:
        return None
    import pandas as pd

    from retrain_core.checks.sequential import Served, detect_fall

    columns = [*features, target]
    served = pd.concat([live[columns], rows[columns]], ignore_index=True)
    y_pred, proba = predictions(policy, champion, served)
    classes = getattr(champion.model, "classes_", None)
    found = Served(served[target].to_numpy(), y_pred, proba, p.baseline_rows, len(rows), classes)
    bound = p.below if greater_is_better(p.metric) else p.above
    swings = ctx.windows.swings.get(ctx.rule_id, ())
    return detect_fall(
        p.metric, found, p.drop, p.detector_threshold, swings, bound, check=ctx.rule_id
    )


def _baseline(
    p: PerformanceTrigger, ctx: Context, champion: Champion, size: int
) -> tuple[float | None, int | None, str, list[float]]:
    """What `drop` is measured from: the champion's measured performance on its live rows.

    Every labelled row it served and was not trained on, before this check, once there are
    `baseline_rows` of them; its holdout score until then. Not only its first live rows: a
    transient bad stretch right after a promotion (a covariate shift that passed) would anchor
    the floor so low that a later, real drop never looks like one. With the live level come the
    champion's scores on consecutive stretches of `size` live rows (its usual swing).
    """
    live = _live_baseline(p, ctx, champion, size) if p.baseline == "live" else None
    found: tuple[float | None, int | None, str, list[float]] = live or (
        champion.metrics.get(p.metric),
        champion.holdout_rows or None,
        "holdout",
        [],
    )
    return _with_usual_swing(found, ctx.windows.swings.get(ctx.rule_id, ()))


def _with_usual_swing(
    baseline: tuple[float | None, int | None, str, list[float]], swings: Sequence[float]
) -> tuple[float | None, int | None, str, list[float]]:
    """A champion with fewer than MIN_BATCHES live stretches of its own borrows the swing its
    predecessors showed between checks (`decide.swings`), around its own level: a new champion
    is not "significantly worse" on one ordinary low batch just because its swing is unknown.
    Its own stretches join them as deviations from their median, and a deviation outside the
    ordinary swing of them all (`base.statistics.ordinary`) is left out: a fall it already suffered
    is the change under test, not its swing."""
    from retrain_core.base.statistics import around_median, ordinary
    from retrain_core.checks.performance import MIN_BATCHES

    level, rows, label, stretches = baseline
    if level is None or len(stretches) >= MIN_BATCHES or not swings:
        return baseline
    own = around_median(stretches) if len(stretches) >= 3 else []
    return level, rows, label, [level + d for d in ordinary([*swings, *own])]


def _live_baseline(
    p: PerformanceTrigger, ctx: Context, champion: Champion, size: int
) -> tuple[float, int, str, list[float]] | None:
    """The champion's metric on all its live labelled rows, once there are `baseline_rows`,
    and on each run of `size` consecutive live rows (oldest first; the oldest rows that do not
    fill a run are left out, so runs end where the newest batch ends)."""
    policy, w = ctx.policy, ctx.windows
    if w.live is None:
        return None
    live = w.live[w.live[policy.model.target].notna()]
    if len(live) < p.baseline_rows:
        return None
    from retrain_core.checks.performance import compute_metric

    y_true = live[policy.model.target].to_numpy()
    y_pred, proba = predictions(policy, champion, live)
    classes = getattr(champion.model, "classes_", None)
    try:
        value = compute_metric(p.metric, y_true, y_pred, proba, classes)
    except ValueError:
        return None
    stretches = []  # anchored at the newest row, so the last stretch is the latest batch
    step = max(size, 1)
    for start in range(len(live) % step, len(live) - size + 1, step):
        part = slice(start, start + size)
        with suppress(ValueError):
            chunk_proba = None if proba is None else proba[part]
            value_of = compute_metric(p.metric, y_true[part], y_pred[part], chunk_proba, classes)
            stretches.append(value_of)
    return value, len(live), f"live baseline ({len(live)} rows served)", stretches


def predictions(policy: Policy, champion: Champion, rows: pd.DataFrame) -> tuple[Any, Any]:
    """The champion's predictions and (for classifiers) probabilities on labelled rows."""
    features = rows[policy.model.features.all]
    proba = (
        probabilities(champion.model, features) if policy.model.task == "classification" else None
    )
    return champion.model.predict(features), proba


def probabilities(model: Any, features: pd.DataFrame) -> Any:
    """Class probabilities, or None when the model has none."""
    return model.predict_proba(features) if hasattr(model, "predict_proba") else None


def findings(performance: Any, data: dict[str, Any], path: Path_) -> list[Finding]:
    """The metric against model.task, below/above against its direction, values in range."""
    from retrain_core.policy.semantics import get, in_range, step_in_range

    if not isinstance(performance, dict):
        return []
    metric, task = performance.get("metric"), get(data, "model", "task")
    found = (
        _fit(performance, metric, task, path) if task in ("classification", "regression") else []
    )
    for key in ("below", "above"):
        found += in_range((*path, key), performance.get(key), metric)
    return found + step_in_range((*path, "drop"), performance.get("drop"), metric)


def _fit(performance: dict[str, Any], metric: Any, task: str, path: Path_) -> list[Finding]:
    """A metric that does not fit the task, or a bound on the side that never fires."""
    from retrain_core.policy.finding import Finding
    from retrain_core.policy.semantics import unfit_metric

    unfit = unfit_metric(metric, task)
    if unfit:
        return [Finding((*path, "metric"), unfit)]
    if not isinstance(metric, str) or metric not in metrics_for(task):
        return []
    if greater_is_better(metric) and performance.get("above") is not None:
        return [
            Finding((*path, "above"), f"higher {metric} is better: use below to fire on a fall")
        ]
    if not greater_is_better(metric) and performance.get("below") is not None:
        return [Finding((*path, "below"), f"lower {metric} is better: use above to fire on a rise")]
    return []


KIND = CheckKind(
    key="performance",
    model=PerformanceTrigger,
    description="Measured performance on labelled rows.",
    evaluate=evaluate,
    metrics=tuple(METRICS),
    reads_labels=True,
    findings=findings,
    order=20,
    example={"metric": "accuracy", "drop": 0.05},
)
