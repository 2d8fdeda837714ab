"""Shared pieces of the policy models: the strict base class and the named value sets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

CLASSIFICATION_METRICS = ("accuracy", "roc_auc", "f1", "precision", "recall", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})

MetricName = Literal[
    "accuracy", "roc_auc", "f1", "precision", "recall", "log_loss", "rmse", "mae", "r2"
]
Task = Literal["classification", "regression"]
NotifyEvent = Literal["retrained", "promoted", "rejected", "failed", "blocked", "rolled_back"]

# Estimator parameters are plain YAML values: nothing in a policy is ever evaluated or constructed.
ParamValue = str | int | float | bool | None | list[Any]


class Strict(BaseModel):
    """Every policy model: unknown keys are errors (usually typos), values are frozen and every
    number is finite (NaN and infinity are refused everywhere, estimator parameters included)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


def metrics_for(task: str) -> tuple[str, ...]:
    """The metric names that make sense for a task."""
    return CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS


def greater_is_better(metric: str) -> bool:
    """True when a higher value of the metric is better (accuracy), False for errors (rmse)."""
    return metric not in LOWER_IS_BETTER
