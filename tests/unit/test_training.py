"""Training: the allow-listed pipeline, the holdout split, clear failures and holdout scores."""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd
import pytest
from _data import churn_frame, churn_policy, house_frame, house_policy

from retrain_core.training.challenger import train_challenger
from retrain_core.training.errors import TrainingError
from retrain_core.training.fit import fit
from retrain_core.training.pipeline import EstimatorNotAllowed, build_pipeline, resolve_estimator
from retrain_core.training.scoring import score_on
from retrain_core.training.split import select_window, split_holdout


def test_pipeline_preprocesses_then_estimates() -> None:
    pipeline = build_pipeline(churn_policy(params={"C": 0.5}).model, random_state=7)
    preprocess, estimator = pipeline.named_steps["preprocess"], pipeline.named_steps["estimator"]
    kinds = {name: columns for name, _, columns in preprocess.transformers}
    assert kinds == {"numeric": ["tenure", "monthly_charges"], "categorical": ["contract"]}
    numeric = preprocess.transformers[0][1]
    assert numeric.named_steps["impute"].strategy == "median"
    encoder = preprocess.transformers[1][1].named_steps["encode"]
    assert encoder.handle_unknown == "ignore"
    assert type(estimator).__name__ == "LogisticRegression"
    assert (estimator.C, estimator.random_state) == (0.5, 7)


def test_many_category_levels_fit_an_estimator_that_refuses_sparse_input() -> None:
    """A one-hot block of many levels is mostly zeros; the pipeline still hands it over dense."""
    model = churn_policy(estimator="sklearn.ensemble.HistGradientBoostingClassifier").model
    frame = churn_frame(400)
    frame["contract"] = [f"plan-{i % 40}" for i in range(len(frame))]
    pipeline = build_pipeline(model, random_state=0)
    pipeline.fit(frame[["tenure", "monthly_charges", "contract"]], frame["churned"])
    assert pipeline.predict(frame[["tenure", "monthly_charges", "contract"]].head(3)).shape == (3,)


def test_policy_random_state_wins_over_training_seed() -> None:
    model = churn_policy("sklearn.ensemble.RandomForestClassifier", {"random_state": 3}).model
    assert build_pipeline(model, random_state=7).named_steps["estimator"].random_state == 3


@pytest.mark.parametrize(
    "path",
    [
        "os.system",
        "subprocess.Popen",
        "builtins.eval",
        "sklearnx.Thing",
        "sklearn.utils._pprint._EstimatorPrettyPrinter",
        "lightgbm.LGBMClassifier",
    ],
)
def test_estimators_outside_the_allow_list_are_refused(path: str) -> None:
    with pytest.raises(EstimatorNotAllowed):
        resolve_estimator(path)


def test_allow_listed_module_must_still_import() -> None:
    with pytest.raises(TrainingError, match="cannot be imported"):
        resolve_estimator("nonexistent_pkg.Model", allowed_modules=["nonexistent_pkg"])


def test_non_estimators_under_sklearn_are_refused() -> None:
    with pytest.raises(EstimatorNotAllowed, match="not a scikit-learn compatible estimator"):
        resolve_estimator("sklearn.utils.Bunch")


def test_bad_params_are_a_training_error() -> None:
    with pytest.raises(TrainingError, match="bad params"):
        build_pipeline(churn_policy(params={"not_a_param": 1}).model)


def test_time_ordered_holdout_is_the_newest_share() -> None:
    frame = churn_frame(n=101)
    train, holdout = split_holdout(frame, 0.2, timestamp="event_time")
    assert (len(train), len(holdout)) == (80, 21)
    assert train["event_time"].max() < holdout["event_time"].min()
    assert holdout["event_time"].max() == frame["event_time"].max()


def test_shuffled_holdout_is_seeded_and_stratified() -> None:
    frame = churn_frame(n=400)
    train, holdout = split_holdout(frame, 0.25, random_state=1, stratify="churned")
    again, _ = split_holdout(frame, 0.25, random_state=1, stratify="churned")
    assert train.index.equals(again.index)
    assert len(holdout) == 100
    share = frame["churned"].mean()
    assert abs(holdout["churned"].mean() - share) < 0.01
    assert abs(train["churned"].mean() - share) < 0.01


def test_split_needs_rows_on_both_sides() -> None:
    with pytest.raises(TrainingError, match="cannot split 1 rows"):
        split_holdout(churn_frame(n=1), 0.2)


def test_single_class_window_fails_with_a_clear_message() -> None:
    frame = churn_frame().assign(churned=0)
    with pytest.raises(TrainingError) as error:
        fit(churn_policy().model, frame, name="churn")
    assert str(error.value) == "cannot train churn: the training window has a single class (0)"


def test_estimator_failure_is_wrapped() -> None:
    model = churn_policy(params={"solver": "no-such-solver"}).model
    with pytest.raises(TrainingError, match=r"^cannot train churn: InvalidParameterError"):
        fit(model, churn_frame(), name="churn")


def test_missing_columns_are_named() -> None:
    frame = churn_frame().drop(columns=["contract"])
    with pytest.raises(TrainingError, match="cannot train churn: missing columns contract"):
        fit(churn_policy().model, frame, name="churn")


def test_fit_skips_unlabelled_rows_and_keeps_an_example() -> None:
    frame = churn_frame(n=200)
    frame.loc[:49, "churned"] = None
    fitted = fit(churn_policy().model, frame, name="churn")
    assert fitted.n_rows == 150
    assert fitted.classes == (0.0, 1.0)
    assert list(fitted.input_example.columns) == ["tenure", "monthly_charges", "contract"]
    assert fitted.input_example["tenure"].dtype == "float64"


def test_evaluate_scores_every_metric_of_the_task() -> None:
    policy = churn_policy()
    train, holdout = split_holdout(churn_frame(), 0.25, timestamp="event_time")
    fitted = fit(policy.model, train, name="churn")
    scores = score_on(fitted.pipeline, holdout, policy.model)
    assert set(scores) == {"accuracy", "roc_auc", "f1", "precision", "recall", "log_loss"}
    assert 0.7 < scores["roc_auc"] <= 1.0
    one_class = holdout.assign(churned=1)
    assert math.isnan(score_on(fitted.pipeline, one_class, policy.model, ["roc_auc"])["roc_auc"])


def test_select_window_keeps_the_newest_rows() -> None:
    frame = churn_frame(n=100)
    window = select_window(frame, timedelta(hours=9), "event_time")
    assert len(window) == 10
    with pytest.raises(TrainingError, match="needs a timestamp"):
        select_window(frame, timedelta(hours=9), None)


def test_train_challenger_classification() -> None:
    policy = churn_policy(window="10d")
    result = train_challenger(policy, churn_frame(n=400))
    assert (result.n_train, result.n_holdout) == (180, 61)
    assert result.window == ("2026-01-07T15:00:00+00:00", "2026-01-17T15:00:00+00:00")
    assert result.metrics["roc_auc"] > 0.7
    assert result.holdout["event_time"].min() > pd.Timestamp("2026-01-15", tz="UTC")


def test_train_challenger_regression_without_timestamp() -> None:
    result = train_challenger(house_policy(), house_frame())
    assert result.window is None
    assert set(result.metrics) == {"rmse", "mae", "r2"}
    assert result.metrics["r2"] > 0.9


GATE = {"metric": "roc_auc", "min": 0.6, "min_rows": 30}


def test_a_retrain_answering_a_change_holds_out_the_newest_rows_of_the_change() -> None:
    # 800 hourly rows; a change at hour 600 leaves 200 labelled rows after it
    policy, frame = churn_policy(window="40d", gate=GATE), churn_frame(n=800)
    since = pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(hours=600)
    result = train_challenger(policy, frame, since=since.to_pydatetime())
    # the holdout is the newest 25% of the changed rows, not of the window (which is all of them)
    assert result.n_holdout == 50
    assert result.holdout["event_time"].min() == since + pd.Timedelta(hours=150)
    # so the challenger learns from the other 150 changed rows (alone, or with the older ones)
    assert (result.rows["event_time"] >= since).sum() == 150
    # without a change to answer, the newest 25% of the window is held out, as before
    assert train_challenger(policy, frame).n_holdout == 200


def test_too_few_changed_rows_keep_the_windows_holdout() -> None:
    policy, frame = churn_policy(window="40d", gate=GATE), churn_frame(n=800)
    since = pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(hours=760)  # 40 rows after
    result = train_challenger(policy, frame, since=since.to_pydatetime())
    assert result.n_holdout == 200  # 10 held-out rows would be too few to judge on


def test_a_change_already_in_the_training_rows_keeps_the_windows_holdout() -> None:
    policy, frame = churn_policy(window="40d", gate=GATE), churn_frame(n=800)
    since = pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(hours=400)  # 400 rows after
    result = train_challenger(policy, frame, since=since.to_pydatetime())
    assert result.n_holdout == 200  # 200 changed rows remain to learn from: nothing to move
