"""Performance checks: measured metrics with direction-aware bounds, and CBPE estimates."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score

from retrain_core.base.outcome import Status
from retrain_core.checks.performance import (
    METRICS,
    check_estimated_performance,
    check_performance,
    compute_metric,
    estimate_performance,
    metric_direction,
)


def _logistic_data(n: int, seed: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from a true logistic model, so a fitted LogisticRegression is calibrated."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)) * scale
    logits = x @ np.array([1.5, -1.0, 0.5, 0.0]) + 0.2
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logits))).astype(int)
    return x, y


@pytest.fixture(scope="module")
def model() -> LogisticRegression:
    x, y = _logistic_data(20_000, seed=1)
    return LogisticRegression().fit(x, y)


def test_registry_directions() -> None:
    assert set(METRICS) == {
        "accuracy", "roc_auc", "f1", "precision", "recall", "log_loss", "rmse", "mae", "r2",
    }  # fmt: skip
    assert metric_direction("roc_auc") is True
    assert metric_direction("r2") is True
    assert metric_direction("rmse") is False and metric_direction("log_loss") is False
    assert METRICS["roc_auc"].needs_proba and not METRICS["accuracy"].needs_proba
    with pytest.raises(ValueError, match="unknown metric"):
        metric_direction("gini")


def test_compute_metric_values() -> None:
    y = np.array([0, 1, 1, 0, 1])
    pred = np.array([0, 1, 0, 0, 1])
    proba = np.array([0.1, 0.9, 0.4, 0.3, 0.8])
    assert compute_metric("accuracy", y, pred) == pytest.approx(0.8)
    assert compute_metric("precision", y, pred) == pytest.approx(1.0)
    assert compute_metric("recall", y, pred) == pytest.approx(2 / 3)
    assert compute_metric("f1", y, pred) == pytest.approx(0.8)
    assert compute_metric("roc_auc", y, pred, np.column_stack([1 - proba, proba])) == 1.0
    expected_log_loss = -np.mean(np.log([0.9, 0.9, 0.4, 0.7, 0.8]))
    assert compute_metric("log_loss", y, pred, proba) == pytest.approx(expected_log_loss)
    assert compute_metric("rmse", [1.0, 2.0], [1.0, 4.0]) == pytest.approx(np.sqrt(2))
    assert compute_metric("mae", [1.0, 2.0], [1.0, 4.0]) == pytest.approx(1.0)
    assert compute_metric("r2", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == pytest.approx(1.0)
    assert compute_metric("f1", ["a", "b", "c"], ["a", "b", "b"]) == pytest.approx(5 / 9)


def test_higher_is_better_floor_and_drop() -> None:
    y, pred = np.array([1, 0, 1, 1, 0, 1, 0, 0]), np.array([1, 0, 1, 0, 0, 1, 1, 0])  # 0.75
    passing = check_performance("accuracy", y, pred, below=0.7)
    assert passing.status is Status.PASS and passing.check == "performance.accuracy"
    assert passing.reason == "accuracy=0.75 >= 0.7 (floor)"
    failing = check_performance("accuracy", y, pred, below=0.8)
    assert failing.status is Status.FAIL and failing.observed == 0.75 and failing.threshold == 0.8
    fell = check_performance("accuracy", y, pred, reference=0.85, drop=0.05)
    assert fell.status is Status.FAIL and "reference 0.85 with max fall 0.05" in fell.reason
    exactly = check_performance("accuracy", y, pred, reference=0.80, drop=0.05)
    assert exactly.status is Status.PASS  # a fall of exactly `drop` is allowed
    stricter = check_performance("accuracy", y, pred, below=0.5, reference=0.9, drop=0.1)
    assert stricter.status is Status.FAIL and stricter.threshold == pytest.approx(0.8)


def test_lower_is_better_ceiling_and_rise() -> None:
    y, pred = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.5, 2.5, 3.5])  # rmse 0.5
    assert check_performance("rmse", y, pred, above=0.6).status is Status.PASS
    failing = check_performance("rmse", y, pred, above=0.4)
    assert failing.status is Status.FAIL and failing.reason == "rmse=0.5 > 0.4 (ceiling)"
    rose = check_performance("rmse", y, pred, reference=0.3, drop=0.1)
    assert rose.status is Status.FAIL and "max rise 0.1" in rose.reason
    with pytest.raises(ValueError, match="lower-is-better"):
        check_performance("rmse", y, pred, below=0.4)
    with pytest.raises(ValueError, match="higher-is-better"):
        check_performance("accuracy", y, pred, above=0.4)


def test_unlabelled_rows_are_dropped_and_missing_labels_are_errors() -> None:
    y = np.array([1, None, 0, None, 1], dtype=object)
    pred = np.array([1, 0, 0, 1, 0])
    partial = check_performance("accuracy", y, pred, below=0.5)
    assert partial.observed == pytest.approx(2 / 3)
    all_null = check_performance("accuracy", [None, np.nan], [1, 0], below=0.5)
    assert all_null.status is Status.ERROR and "all 2 labels are null" in all_null.reason
    empty = check_performance("accuracy", [], [], below=0.5)
    assert empty.status is Status.ERROR and "no labelled rows" in empty.reason
    mismatch = check_performance("accuracy", [1, 0, 1], [1, 0], below=0.5)
    assert mismatch.status is Status.ERROR and mismatch.reason == "3 labels but 2 predictions"


def test_roc_auc_errors_on_a_single_class_and_without_probabilities() -> None:
    single = check_performance("roc_auc", [1, 1, 1], [1, 1, 1], [0.9, 0.8, 0.7], below=0.8)
    assert single.status is Status.ERROR and "only one class" in single.reason
    no_proba = check_performance("roc_auc", [0, 1], [0, 1], below=0.8)
    assert no_proba.status is Status.ERROR and "probabilities" in no_proba.reason


def test_no_bound_to_compare_with_is_an_error() -> None:
    outcome = check_performance("accuracy", [1, 0], [1, 0], drop=0.05)
    assert outcome.status is Status.ERROR and "no reference value" in outcome.reason


def test_estimated_accuracy_and_auc_are_near_the_truth_for_a_calibrated_model(
    model: LogisticRegression,
) -> None:
    x, y = _logistic_data(20_000, seed=2)
    proba = model.predict_proba(x)
    true_accuracy = accuracy_score(y, model.predict(x))
    assert estimate_performance(proba, "accuracy") == pytest.approx(true_accuracy, abs=0.03)
    true_auc = roc_auc_score(y, proba[:, 1])
    assert estimate_performance(proba, "roc_auc") == pytest.approx(true_auc, abs=0.03)
    assert estimate_performance(proba[:, 1], "accuracy") == pytest.approx(
        estimate_performance(proba, "accuracy")
    )


def test_estimate_performance_rejects_what_it_cannot_estimate() -> None:
    with pytest.raises(ValueError, match="cannot estimate"):
        estimate_performance(np.array([0.2, 0.9]), "rmse")
    with pytest.raises(ValueError, match="binary"):
        estimate_performance(np.full((3, 3), 1 / 3), "roc_auc")


def test_check_estimated_performance_detects_a_confidence_drop(model: LogisticRegression) -> None:
    reference = model.predict_proba(_logistic_data(5_000, seed=3)[0])
    same = model.predict_proba(_logistic_data(5_000, seed=4)[0])
    harder = model.predict_proba(_logistic_data(5_000, seed=5, scale=0.3)[0])  # nearer the boundary
    passing = check_estimated_performance("accuracy", same, reference, drop=0.05)
    assert passing.status is Status.PASS and passing.check == "estimated_performance.accuracy"
    failing = check_estimated_performance("accuracy", harder, reference, drop=0.05)
    assert failing.status is Status.FAIL and "fell" in failing.reason
    assert failing.observed is not None and failing.threshold is not None
    assert failing.observed < failing.threshold
    error = check_estimated_performance("accuracy", np.empty((0, 2)), reference, drop=0.05)
    assert error.status is Status.ERROR


def _predictions(n: int, accuracy: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels and predictions that agree on exactly `accuracy` of n rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    wrong = rng.permutation(n)[: round(n * (1 - accuracy))]
    pred = y.copy()
    pred[wrong] = 1 - pred[wrong]
    return y, pred


def test_a_drop_must_be_significant_for_the_sample_size() -> None:
    small = _predictions(40, 0.75)
    noisy = check_performance(
        "accuracy", *small, reference=0.85, drop=0.05, reference_rows=40, confidence=0.99
    )
    assert noisy.status is Status.PASS and "but not significant for 40 rows" in noisy.reason
    large = _predictions(4000, 0.75)
    real = check_performance(
        "accuracy", *large, reference=0.85, drop=0.05, reference_rows=4000, confidence=0.99
    )
    assert real.status is Status.FAIL and "significant: p=" in real.reason
    # a significant fall smaller than `drop` does not fire: drop is the effect that matters
    tiny = check_performance(
        "accuracy", *large, reference=0.77, drop=0.05, reference_rows=4000, confidence=0.99
    )
    assert tiny.status is Status.PASS


def test_an_absolute_floor_stays_a_point_comparison() -> None:
    y, pred = _predictions(40, 0.75)
    floor = check_performance("accuracy", y, pred, below=0.8, confidence=0.99)
    assert floor.status is Status.FAIL and floor.reason.endswith("(floor)")


def test_other_metrics_are_tested_by_bootstrap() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 3000)
    proba = np.clip(y * 0.3 + rng.uniform(0, 0.7, 3000), 0, 1)  # AUC well below 0.99
    real = check_performance(
        "roc_auc", y, None, np.column_stack([1 - proba, proba]), reference=0.99, drop=0.02,
        confidence=0.95,
    )  # fmt: skip
    assert real.status is Status.FAIL and "significant" in real.reason


def test_a_fall_within_the_champions_usual_swing_between_batches_is_not_significant() -> None:
    from retrain_core.checks.performance import batch_p_value

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 1000)
    pred = y.copy()
    pred[:280] = 1 - pred[:280]  # accuracy 0.72
    swinging = [0.85, 0.70, 0.80, 0.90, 0.75, 0.82, 0.74, 0.86]  # sd 0.07
    kept = check_performance(
        "accuracy", y, pred, reference=0.80, drop=0.05, reference_rows=6000,
        confidence=0.99, reference_batches=swinging,
    )  # fmt: skip
    assert not kept.failed and "swing over 8 earlier stretches" in kept.reason
    steady = [0.80, 0.81, 0.79, 0.80, 0.805, 0.795, 0.80, 0.80]
    fired = check_performance(
        "accuracy", y, pred, reference=0.80, drop=0.05, reference_rows=6000,
        confidence=0.99, reference_batches=steady,
    )  # fmt: skip
    assert fired.failed and fired.p_value is not None and fired.p_value < 0.01
    assert (
        batch_p_value(0.5, [0.8, 0.9, 0.85, 0.7], True) == 0.0
    )  # too few: no evidence  # too few stretches: no evidence


def test_an_ongoing_fall_is_not_counted_as_the_usual_swing() -> None:
    from retrain_core.checks.performance import usual_swing

    assert usual_swing([0.80, 0.82, 0.78, 0.62, 0.60], 0.05, True) == [0.80, 0.82, 0.78]
    assert usual_swing([0.80, 0.82, 0.78, 0.76], 0.05, True) == [0.80, 0.82, 0.78, 0.76]
    assert usual_swing([10.0, 11.0, 20.0], 5.0, False) == [10.0, 11.0]  # rmse rose
