"""A class the champion never saw: a finding that is recorded and shown, scored, never a block.

Real components: scikit-learn pipelines trained by `train_challenger`, the real `evaluate`,
`decide`, the markdown report, the probation judgement and the gate's scoring.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from _data import churn_frame, churn_policy
from sklearn.linear_model import LogisticRegression

from retrain_core.base.outcome import Status
from retrain_core.checks.performance import check_performance, compute_metric, drop_p_value
from retrain_core.checks.sequential import Served as SequentialServed
from retrain_core.checks.sequential import detect_fall
from retrain_core.decide.decision import decide, findings
from retrain_core.decide.evaluate import evaluate
from retrain_core.decide.probation import Served, judge
from retrain_core.decide.report import decision_markdown
from retrain_core.kinds.context import Champion, Windows
from retrain_core.policy.schema import Probation
from retrain_core.training.challenger import train_challenger
from retrain_core.training.scoring import score_on

NOW = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def three_classes() -> tuple[LogisticRegression, np.ndarray, np.ndarray, np.ndarray]:
    """A model of classes 0, 1, 2, and labelled rows where class 3 (unknown to it) appears."""
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]])
    y_train = rng.integers(0, 3, 300)
    model = LogisticRegression(max_iter=500).fit(
        centres[y_train] + rng.normal(size=(300, 2)), y_train
    )
    y_true = rng.integers(0, 4, 400)
    x = centres[y_true] + rng.normal(size=(400, 2))
    return model, y_true, model.predict(x), model.predict_proba(x)


def test_every_metric_scores_a_class_the_model_never_saw_as_its_error(
    three_classes: tuple[LogisticRegression, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    model, y_true, y_pred, proba = three_classes
    assert 3 in y_true and model.classes_.tolist() == [0, 1, 2]
    with pytest.raises(ValueError):  # without the model's classes the columns cannot be matched
        compute_metric("roc_auc", y_true, y_pred, proba)
    auc = compute_metric("roc_auc", y_true, y_pred, proba, model.classes_)
    seen = y_true < 3
    auc_seen = compute_metric("roc_auc", y_true[seen], y_pred[seen], proba[seen], model.classes_)
    assert 0.5 < auc < auc_seen  # the new class scores 0.5: no better than chance, no NaN
    loss = compute_metric("log_loss", y_true, y_pred, proba, model.classes_)
    loss_seen = compute_metric("log_loss", y_true[seen], y_pred[seen], proba[seen], model.classes_)
    assert math.isfinite(loss) and loss > 3 * loss_seen  # probability 0 for the truth: clipped
    accuracy = compute_metric("accuracy", y_true, y_pred, None, model.classes_)
    assert accuracy == pytest.approx(float(np.mean(y_true == y_pred)))
    assert accuracy <= 1 - float(np.mean(~seen)) + 1e-9  # every new-class row is an error
    assert math.isfinite(compute_metric("f1", y_true, y_pred, None, model.classes_))


def test_a_binary_champion_is_scored_on_labels_with_a_third_class() -> None:
    y_true = np.array([0, 1, 0, 1, 2, 2, 0, 1])
    proba1 = np.array([0.1, 0.9, 0.2, 0.7, 0.5, 0.4, 0.3, 0.8])
    proba = np.column_stack([1 - proba1, proba1])
    auc = compute_metric("roc_auc", y_true, None, proba, np.array([0, 1]))
    assert 0.5 < auc <= 1.0


def test_a_performance_check_with_the_models_classes_judges_instead_of_erroring(
    three_classes: tuple[LogisticRegression, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    model, y_true, y_pred, proba = three_classes
    blind = check_performance("roc_auc", y_true, y_pred, proba, reference=0.95, drop=0.02)
    assert blind.status is Status.ERROR  # what a caller without the classes gets
    judged = check_performance(
        "roc_auc", y_true, y_pred, proba, reference=0.95, drop=0.02, classes=model.classes_
    )
    assert judged.status is Status.FAIL, judged.reason
    assert judged.observed is not None and math.isfinite(judged.observed)
    # its significance test resamples the rows with the same classes
    labelled = (y_true, y_pred, proba)
    assert drop_p_value("roc_auc", labelled, 0.95, None, True, 20, model.classes_) < 0.1
    assert drop_p_value("roc_auc", labelled, 0.95, None, True, 20) == 1.0  # nothing computable


def test_the_sequential_detector_scores_batches_holding_a_class_the_champion_never_saw(
    three_classes: tuple[LogisticRegression, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    model, y_true, y_pred, proba = three_classes
    seen, new = np.flatnonzero(y_true < 3), np.flatnonzero(y_true == 3)
    later = np.random.default_rng(0).permutation(np.concatenate([seen[150:], new]))
    order = np.concatenate([seen[:150], later])  # a reference without the class, then batches
    rows = (y_true[order], y_pred[order], proba[order])
    outcome = detect_fall("roc_auc", SequentialServed(*rows, 150, 50, model.classes_), 0.02, 5.0)
    assert outcome is not None and outcome.observed is not None
    assert math.isfinite(outcome.observed) and outcome.p_value is not None
    assert detect_fall("roc_auc", SequentialServed(*rows, 150, 50), 0.02, 5.0) is None  # blind


def test_probation_compares_a_champion_that_learned_the_class_with_one_that_did_not(
    three_classes: tuple[LogisticRegression, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    model, y_true, y_pred, proba = three_classes
    old = Served("1", (y_true, y_pred, proba), model.classes_)
    new = Served("2", (y_true, y_true, np.eye(4)[y_true]), np.array([0, 1, 2, 3]))
    probation = Probation(period="7d", metric="roc_auc", min_rows=100)
    verdict = judge("roc_auc", probation, new, old)
    assert not verdict.rollback
    assert "could not" not in verdict.reasons[0] and "v1's roc_auc" not in verdict.reasons[0]


def labelled_frame(n: int, seed: int, new_class_rows: int) -> pd.DataFrame:
    """Churn rows whose last `new_class_rows` labels are the class 2, unknown to the champion."""
    frame = churn_frame(n, seed=seed, start="2026-01-20")
    column = frame["churned"].to_numpy().copy()
    column[n - new_class_rows :] = 2
    return frame.assign(churned=column)


def test_a_new_class_is_a_finding_that_the_decision_shows_and_never_blocks() -> None:
    policy = churn_policy()
    trained = train_challenger(policy, churn_frame(400))
    champion = Champion("4", NOW, model=trained.fitted.pipeline)
    current = labelled_frame(200, 1, 30)
    windows = Windows(reference=churn_frame(200, seed=5), current=current)
    outcomes = evaluate(policy, windows, champion, NOW)
    (finding,) = findings(outcomes)
    assert finding.check == "data.new_class.2" and finding.status is Status.FAIL
    assert finding.observed == 30
    assert finding.reason.startswith(
        "new class '2' in 'churned': 30 of 200 labelled rows, a class the champion (v4) never "
        "saw (it knows 0, 1)"
    )
    decision = decide(policy.triggers, outcomes, [], NOW, has_champion=True)
    assert not decision.blocked and decision.suppressed_by is None
    assert decision.reasons[-1] == finding.reason
    markdown = decision_markdown(policy.name, decision, len(current))
    assert f"- {finding.reason}" in markdown and "`data.new_class.2`" in markdown

    known = evaluate(policy, windows, Champion("5", NOW, model=_knows_two(current)), NOW)
    assert findings(known) == []  # a champion trained with the class does not report it again
    first = evaluate(policy, windows, None, NOW)  # no champion: compared with the reference
    assert [o.check for o in findings(first)] == ["data.new_class.2"]
    assert "the reference data never saw" in findings(first)[0].reason


def _knows_two(current: pd.DataFrame) -> object:
    policy = churn_policy()
    return train_challenger(policy, pd.concat([churn_frame(400), current])).fitted.pipeline


def test_the_gate_scores_a_champion_on_a_holdout_holding_a_class_it_never_saw() -> None:
    policy = churn_policy()
    old = train_challenger(policy, churn_frame(400)).fitted.pipeline
    holdout = labelled_frame(200, 2, 40)
    score = score_on(old, holdout, policy.model, ["roc_auc", "accuracy", "log_loss"])
    assert all(math.isfinite(value) for value in score.values()), score
