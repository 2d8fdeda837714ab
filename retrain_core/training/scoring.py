"""Score a fitted model on labelled rows: the challenger and the champion alike."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from retrain_core.policy.base import metrics_for
from retrain_core.training.split import labelled

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.policy.schema import Model


def score_on(
    pipeline: Any, holdout: pd.DataFrame, model: Model, metrics: Sequence[str] | None = None
) -> dict[str, float]:
    """Score a fitted pipeline (challenger or champion) on the holdout; NaN when not computable."""
    rows = labelled(holdout, model.target)
    names = list(metrics) if metrics is not None else list(metrics_for(model.task))
    if rows.empty:
        return {name: math.nan for name in names}
    X, y_true = rows[model.features.all], rows[model.target].to_numpy()
    y_pred = pipeline.predict(X)
    proba = None
    if model.task == "classification" and hasattr(pipeline, "predict_proba"):
        proba = pipeline.predict_proba(X)
    classes = getattr(pipeline, "classes_", None)
    return {name: _metric(name, y_true, y_pred, proba, classes) for name in names}


def _metric(name: str, y_true: Any, y_pred: Any, proba: Any, classes: Any = None) -> float:
    """One metric, NaN when it cannot be computed (a single class in the holdout, say)."""
    from retrain_core.checks.performance import compute_metric

    try:
        return compute_metric(name, y_true, y_pred, proba, classes)
    except ValueError:
        return math.nan
