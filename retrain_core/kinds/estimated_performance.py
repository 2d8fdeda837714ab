"""The `estimated_performance` trigger: CBPE while labels have not arrived."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.kinds.context import Context
from retrain_core.kinds.performance import probabilities
from retrain_core.policy.base import ESTIMABLE_METRICS, EstimableMetric, Strict
from retrain_core.policy.registry import CheckKind

if TYPE_CHECKING:
    from retrain_core.policy.finding import Finding
    from retrain_core.policy.yamlio import Path_

MIN_LIVE_ROWS = 100  # live rows needed before they replace the reference as a CBPE baseline


class EstimatedPerformanceTrigger(Strict):
    """Performance estimated from predicted probabilities while labels have not arrived (CBPE)."""

    metric: EstimableMetric = Field(
        "accuracy", description="Metric to estimate from a calibrated classifier's probabilities."
    )
    drop: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Fire when the estimate on the current window is this much below the same "
        "estimate on the reference window.",
    )


def evaluate(e: EstimatedPerformanceTrigger, ctx: Context) -> list[CheckOutcome]:
    """CBPE: the champion's expected metric on the current window against its live rows.

    The baseline is the same estimate on rows the champion served and was not trained on (a
    model is overconfident on its own training rows); the reference until enough exist.
    """
    from retrain_core.checks.performance import check_estimated_performance

    policy, w, champion, name = ctx.policy, ctx.windows, ctx.champion, ctx.rule_id
    if champion is None or champion.model is None:
        return [CheckOutcome(name, Status.ERROR, "no champion yet")]
    if policy.model.task != "classification" or not hasattr(champion.model, "predict_proba"):
        return [CheckOutcome(name, Status.ERROR, "the champion gives no probabilities")]
    features = policy.model.features.all
    current = probabilities(champion.model, w.current[features])
    baseline = w.reference
    if w.live is not None and len(w.live) >= MIN_LIVE_ROWS:
        baseline = w.live.head(MIN_LIVE_ROWS * 5)
    reference = probabilities(champion.model, baseline[features])
    return [check_estimated_performance(e.metric, current, reference, e.drop, check=name)]


def findings(settings: Any, data: dict[str, Any], path: Path_) -> list[Finding]:
    """A regression model has no probabilities to estimate from."""
    from retrain_core.policy.finding import Finding

    model = data.get("model")
    if isinstance(model, dict) and model.get("task") == "regression":
        message = "estimated_performance needs a classification model (it reads probabilities)"
        return [Finding(path, message)]
    return []


KIND = CheckKind(
    key="estimated_performance",
    model=EstimatedPerformanceTrigger,
    description="Estimated performance where labels are late.",
    evaluate=evaluate,
    label_blind=True,
    metrics=ESTIMABLE_METRICS,
    findings=findings,
    order=30,
    example={"metric": "accuracy", "drop": 0.05},
)
