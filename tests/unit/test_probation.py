"""Probation, pure parts: when a champion is watched and when it is rolled back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from _data import churn_policy

from retrain_core.decide.probation import Served, judge, on_probation, probation_metric
from retrain_core.policy.schema import Policy, Probation

NOW = datetime(2026, 3, 8, tzinfo=UTC)
WATCH = Probation(period="7d")  # type: ignore[arg-type]


def served(version: str, rows: int, accuracy: float) -> Served:
    """`rows` labelled rows, the first `accuracy` share predicted right."""
    y_true = np.ones(rows, dtype=int)
    y_pred = np.where(np.arange(rows) < round(rows * accuracy), 1, 0)
    return Served(version, (y_true, y_pred, None))


def test_a_champion_is_watched_for_its_period_only() -> None:
    assert on_probation(NOW - timedelta(days=6), WATCH, NOW)
    assert not on_probation(NOW - timedelta(days=7), WATCH, NOW)
    assert not on_probation(NOW - timedelta(days=1), None, NOW)


def test_a_significantly_worse_champion_is_rolled_back() -> None:
    verdict = judge("accuracy", WATCH, served("5", 800, 0.70), served("4", 900, 0.80))
    assert verdict.rollback
    (reason,) = verdict.reasons
    assert reason.startswith("probation: v5 on 800 live rows: accuracy=0.7 < 0.8 (v4 live on 900")
    assert "significant: p=" in reason and reason.endswith("rolled back to v4")


def test_a_small_or_unsure_fall_and_too_few_rows_keep_the_champion() -> None:
    assert not judge("accuracy", WATCH, served("5", 300, 0.79), served("4", 300, 0.80)).rollback
    waiting = judge("accuracy", WATCH, served("5", 50, 0.10), served("4", 900, 0.80))
    assert not waiting.rollback
    assert waiting.reasons == (
        "probation of v5: waiting for 200 labelled rows per model (v5 served 50)",
    )
    better = judge("accuracy", WATCH, served("5", 800, 0.85), served("4", 900, 0.80))
    assert not better.rollback


def with_sections(**sections: Any) -> Policy:
    spec = churn_policy().model_dump(by_alias=True, exclude_none=True)
    return Policy.model_validate({**spec, **sections})


def test_probation_compares_the_chosen_metric_else_the_one_measured_on_labels() -> None:
    assert probation_metric(churn_policy()) == "accuracy"  # no label-reading trigger
    measured = {"any": [{"max_age": "30d"}, {"performance": {"metric": "roc_auc", "drop": 0.05}}]}
    assert probation_metric(with_sections(triggers=measured)) == "roc_auc"
    chosen = {"probation": {"period": "7d", "metric": "log_loss"}}
    assert probation_metric(with_sections(triggers=measured, promotion=chosen)) == "log_loss"
