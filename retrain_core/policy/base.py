"""Shared pieces of the policy models: the strict base class and the named value sets.

Each value set is written here once; the policy models, the semantic checks and the checks that
compute them (`checks.performance`, `checks.drift`) all read it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class Metric:
    """A named metric: its task, direction, range, whether it needs predicted probabilities and
    whether it can be estimated from calibrated probabilities alone (CBPE)."""

    name: str
    task: str  # "classification" or "regression"
    greater_is_better: bool
    low: float = 0.0
    high: float = 1.0
    needs_proba: bool = False
    estimable: bool = False


METRICS: Mapping[str, Metric] = MappingProxyType(
    {
        m.name: m
        for m in (
            Metric("accuracy", "classification", True, estimable=True),
            Metric("roc_auc", "classification", True, needs_proba=True, estimable=True),
            Metric("f1", "classification", True),
            Metric("precision", "classification", True),
            Metric("recall", "classification", True),
            Metric("log_loss", "classification", False, high=math.inf, needs_proba=True),
            Metric("rmse", "regression", False, high=math.inf),
            Metric("mae", "regression", False, high=math.inf),
            Metric("r2", "regression", True, low=-math.inf),
        )
    }
)
CLASSIFICATION_METRICS = tuple(m.name for m in METRICS.values() if m.task == "classification")
REGRESSION_METRICS = tuple(m.name for m in METRICS.values() if m.task == "regression")
ESTIMABLE_METRICS = tuple(m.name for m in METRICS.values() if m.estimable)

DRIFT_METHODS = ("ks", "cvm", "chi2", "tabular", "psi")
DRIFT_CORRECTIONS = ("bonferroni", "fdr", "none")

if TYPE_CHECKING:  # the checker sees names; pydantic sees the value sets above
    MetricName = str
    EstimableMetric = str
    DriftMethod = str
    DriftCorrection = str
else:
    MetricName = Literal[tuple(METRICS)]
    EstimableMetric = Literal[ESTIMABLE_METRICS]
    DriftMethod = Literal[DRIFT_METHODS]
    DriftCorrection = Literal[DRIFT_CORRECTIONS]
Task = Literal["classification", "regression"]

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
    known = METRICS.get(metric)
    return known.greater_is_better if known is not None else True
