"""The promotion gate: direction-aware floors and improvements, with mlflow's semantics."""

from __future__ import annotations

import math

import pytest

from retrain_core.decide.promotion import PromotionDecision, decide_promotion
from retrain_core.policy.schema import Gate


def gate(metric: str = "roc_auc", min: float | None = 0.75, improvement: float = 0.0) -> Gate:
    return Gate(metric=metric, min=min, min_improvement=improvement)


def test_bootstrap_checks_the_floor_only() -> None:
    decision = decide_promotion(gate(), 0.842, None)
    assert decision == PromotionDecision(
        promote=True,
        reasons=("no champion yet: roc_auc 0.842 >= min 0.75",),
        metric="roc_auc",
        challenger_score=0.842,
        champion_score=None,
    )


def test_bootstrap_below_the_floor_is_rejected() -> None:
    decision = decide_promotion(gate(), 0.61, None)
    assert not decision.promote
    assert decision.reasons == ("no champion yet: roc_auc 0.61 < min 0.75",)
    assert decision.summary == "reject: no champion yet: roc_auc 0.61 < min 0.75"


def test_bootstrap_without_a_floor_promotes() -> None:
    decision = decide_promotion(gate(min=None), 0.55, None)
    assert decision.promote
    assert decision.reasons == ("no champion yet: roc_auc 0.55 (the gate sets no minimum)",)


def test_better_challenger_is_promoted_with_both_reasons() -> None:
    decision = decide_promotion(gate(), 0.842, 0.811)
    assert decision.promote
    assert decision.reasons == (
        "roc_auc 0.842 >= min 0.75",
        "roc_auc 0.842 vs champion 0.811: +0.031 >= 0.0",
    )


def test_equal_scores_pass_at_least_as_good() -> None:
    assert decide_promotion(gate(), 0.8, 0.8).promote


def test_worse_challenger_is_rejected() -> None:
    decision = decide_promotion(gate(), 0.79, 0.811)
    assert not decision.promote
    assert decision.reasons[-1] == "roc_auc 0.79 vs champion 0.811: -0.021 < 0.0"


def test_required_improvement_not_reached() -> None:
    decision = decide_promotion(gate(improvement=0.05), 0.842, 0.811)
    assert not decision.promote
    assert decision.reasons[-1] == "roc_auc 0.842 vs champion 0.811: +0.031 < 0.05"


def test_negative_improvement_is_a_tolerance() -> None:
    assert decide_promotion(gate(improvement=-0.01), 0.805, 0.811).promote


def test_floor_fails_even_when_better_than_champion() -> None:
    decision = decide_promotion(gate(), 0.70, 0.65)
    assert not decision.promote
    assert decision.reasons == (
        "roc_auc 0.7 < min 0.75",
        "roc_auc 0.7 vs champion 0.65: +0.05 >= 0.0",
    )


def test_rmse_lower_is_better() -> None:
    rmse = gate("rmse", min=60000)
    better = decide_promotion(rmse, 51234.5, 53000.0)
    assert better.promote
    assert better.reasons == (
        "rmse 51234.5 <= max 60000.0",
        "rmse 51234.5 vs champion 53000.0: -1765.5 <= 0.0 (lower is better)",
    )
    worse = decide_promotion(rmse, 54000.0, 53000.0)
    assert not worse.promote
    assert worse.reasons[-1] == "rmse 54000.0 vs champion 53000.0: +1000.0 > 0.0 (lower is better)"


def test_rmse_above_the_ceiling_is_rejected() -> None:
    decision = decide_promotion(gate("rmse", min=60000), 61000.0, None)
    assert not decision.promote
    assert decision.reasons == ("no champion yet: rmse 61000.0 > max 60000.0",)


def test_rmse_improvement_must_lower_the_error() -> None:
    rmse = gate("rmse", min=None, improvement=1000)
    assert decide_promotion(rmse, 52000.0, 53000.0).promote
    assert not decide_promotion(rmse, 52500.0, 53000.0).promote


def test_nan_scores_are_missing_and_reject() -> None:
    challenger = decide_promotion(gate(), math.nan, 0.8)
    assert not challenger.promote
    assert challenger.reasons == ("roc_auc of the challenger could not be computed (nan)",)
    champion = decide_promotion(gate(), 0.8, math.nan)
    assert not champion.promote
    assert "champion could not be computed" in champion.reasons[-1]


CASES = [
    ("roc_auc", 0.75, 0.02, 0.842, 0.811),
    ("roc_auc", 0.75, 0.04, 0.842, 0.811),
    ("roc_auc", 0.85, 0.01, 0.842, 0.811),
    ("accuracy", None, 0.001, 0.8, 0.8),
    ("r2", -0.5, 0.1, -0.2, -0.35),
    ("rmse", 60000, 1000, 52000.0, 53000.0),
    ("rmse", 60000, 1000, 52500.0, 53000.0),
    ("rmse", 50000, 1000, 51000.0, 53000.0),
    ("log_loss", 0.5, 0.01, 0.41, 0.43),
    ("mae", None, 5.0, 100.0, 104.0),
]


@pytest.mark.integration  # MLflow's own threshold validation
@pytest.mark.parametrize(("metric", "floor", "improvement", "challenger", "champion"), CASES)
def test_matches_mlflow_metric_threshold(
    metric: str, floor: float | None, improvement: float, challenger: float, champion: float
) -> None:
    """Where mlflow can express the gate (a positive change), it agrees with decide_promotion."""
    from mlflow.exceptions import MlflowException
    from mlflow.models.evaluation.validation import MetricThreshold, _validate

    from retrain_core.policy.base import greater_is_better

    threshold = MetricThreshold(
        threshold=floor,
        min_absolute_change=improvement,
        greater_is_better=greater_is_better(metric),
    )
    try:
        _validate({metric: threshold}, {metric: challenger}, {metric: champion})
        mlflow_passes = True
    except MlflowException:
        mlflow_passes = False
    ours = decide_promotion(gate(metric, floor, improvement), challenger, champion)
    assert ours.promote is mlflow_passes


def test_the_gate_compares_on_rows_neither_model_was_trained_on() -> None:
    from datetime import timedelta

    from _data import churn_frame, churn_policy

    from retrain_core.decide.promotion import gate_challenger
    from retrain_core.training.challenger import train_challenger

    policy = churn_policy(gate={"metric": "accuracy", "min_rows": 30})
    frame = churn_frame(400)
    old = train_challenger(policy, frame.iloc[:200])
    new = train_challenger(policy, frame)
    newest = frame["event_time"].max()
    compared = gate_challenger(policy, new, old.fitted.pipeline, newest - timedelta(hours=60))
    assert compared.champion_score is not None
    assert compared.reasons[-1] == "compared on the 60 newest rows neither model was trained on"
    too_few = gate_challenger(policy, new, old.fitted.pipeline, newest - timedelta(hours=20))
    assert too_few.champion_score is not None
    assert too_few.reasons[-1].startswith(
        "only 20 holdout rows are newer than the champion's training data (< gate.min_rows 30): "
        "compared on all 100 holdout rows"
    )
