"""Backtest: a synthetic stream with a known change, replayed through the real checks and gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrain_core.policy.schema import Policy
from retrain_core.replay.backtest import History, moments, policy_strategy, replay
from retrain_core.replay.baselines import compare, hindsight, never, periodic, persistence

START = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)
ROWS = 300


def stream(change_day: int, kind: str, days: int = 10, seed: int = 0) -> History:
    """Two reference days, then `days` daily batches; from `change_day` on the data changes.

    kind "concept": the label rule flips (inputs unchanged); "shift": the inputs move to where
    the rule is different, so a model that never saw them is wrong there.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for day in range(-2, days):
        x1, x2 = rng.normal(0, 1, ROWS), rng.normal(0, 1, ROWS)
        changed = day >= change_day
        if changed and kind == "shift":
            x1 = x1 + 4
        y = (x1 > 0).astype(int)
        if changed and kind == "concept":
            y = 1 - y
        if kind == "shift":  # far from the origin the rule differs: x1 > 4 is class 0
            y = np.where(x1 > 4, 0, y)
        stamps = START + day * DAY + pd.to_timedelta(np.arange(ROWS) * (86_000 / ROWS), unit="s")
        frames.append(pd.DataFrame({"t": stamps, "x1": x1, "x2": x2, "y": y}))
    frame = pd.concat(frames, ignore_index=True)
    cut = 2 * ROWS
    return History(frame.iloc[:cut].reset_index(drop=True), frame.iloc[cut:].reset_index(drop=True))


def policy(triggers: dict[str, Any], **training: Any) -> Policy:
    return Policy.model_validate(
        {
            "version": 1,
            "name": "synthetic",
            "model": {
                "task": "classification",
                "target": "y",
                "features": {"numeric": ["x1", "x2"]},
                "estimator": {"class": "sklearn.tree.DecisionTreeClassifier"},
            },
            "data": {
                "timestamp": "t",
                "reference": {"path": "ref.csv"},
                "current": {"path": "cur/*.csv"},
                "labels": {"path": "labels/*.csv", "join_on": "id", "lag": "1d"},
            },
            "triggers": triggers,
            "training": {"window": "2d", "holdout": 0.25, **training},
            "gate": {"metric": "accuracy", "min_rows": 50},
        }
    )


LAST = START + 9 * DAY + timedelta(hours=23, minutes=59)
STEPS = moments(START + timedelta(hours=23, minutes=59), LAST, DAY)
PERFORMANCE = {"any": [{"performance": {"metric": "accuracy", "drop": 0.1}}], "cooldown": "2d"}
DRIFT = {"any": [{"drift": {"min_share": 0.5}}], "await_labels": 100}


def run(triggers: dict[str, Any], kind: str, strategy: Any = policy_strategy) -> Any:
    return replay(policy(triggers), stream(4, kind), STEPS, DAY, strategy, "policy", "accuracy")


def test_moments_cover_the_range_inclusively() -> None:
    assert moments(START, START + 2 * DAY, DAY) == [START, START + DAY, START + 2 * DAY]
    with pytest.raises(ValueError):
        moments(START, START + DAY, timedelta(0))


def test_performance_trigger_retrains_once_labels_show_the_concept_change() -> None:
    result = run(PERFORMANCE, "concept")
    trained = [(i, s.trained) for i, s in enumerate(result.steps) if s.trained]
    # the change is in step 4's batch; its labels arrive one day later, at step 5
    assert trained[0] == (5, "promoted")
    assert result.steps[4].metric is not None and result.steps[4].metric < 0.2  # old model wrong
    assert result.steps[7].metric is not None and result.steps[7].metric > 0.8  # new one right
    baseline = run(PERFORMANCE, "concept", never)
    assert result.mean_metric > baseline.mean_metric + 0.25
    assert result.trainings <= 2


def test_drift_waits_for_labels_of_the_changed_rows_then_trains() -> None:
    result = run(DRIFT, "shift")
    assert [s.verdict for s in result.steps[:4]] == ["hold"] * 4
    assert result.steps[4].verdict == "pending"  # the shift is seen, its labels are not known
    assert not result.steps[4].trained
    assert any("waiting for 100 labelled rows" in r for r in result.steps[4].reasons)
    assert result.steps[5].trained == "promoted"  # the shifted rows' labels arrived
    assert result.steps[7].metric is not None and result.steps[7].metric > 0.9


def test_drift_reference_follows_the_champion() -> None:
    result = run(DRIFT, "shift")
    after = [s.verdict for s in result.steps[6:]]
    assert "pending" not in after and all(not s.trained for s in result.steps[6:])


def test_a_window_that_cannot_be_trained_is_a_failed_training_not_a_crash() -> None:
    history = stream(4, "concept")
    rows = history.rows.copy()
    rows.loc[rows["t"] >= START + 3 * DAY, "y"] = 1  # single class from then on
    result = replay(
        policy(PERFORMANCE), History(history.reference, rows), STEPS, DAY,
        periodic(2), "every 2", "accuracy",
    )  # fmt: skip
    failed = [s for s in result.steps if s.trained == "failed"]
    assert failed and "single class" in failed[0].training_reasons[0]
    assert len(result.steps) == len(STEPS)


@pytest.mark.integration  # four replays of ten steps with training (~1.3 CPU s)
def test_compare_runs_every_baseline_on_the_same_steps() -> None:
    replays, scores = compare(policy(PERFORMANCE), stream(4, "concept"), STEPS, DAY, "accuracy")
    assert [r.strategy for r in replays] == ["policy", "never", "every 5", "naive drop"]
    assert all(len(r.steps) == len(STEPS) for r in replays)
    assert len(scores) == len(STEPS)
    assert replays[2].trainings == 2  # steps 5 and 10


def test_persistence_predicts_the_newest_known_label() -> None:
    t = pd.date_range(START, periods=6, freq="h", tz="UTC")
    rows = pd.DataFrame({"t": t, "y": [1, 1, 0, 0, 1, 1]})
    now = [START + timedelta(hours=5)]
    assert persistence(rows, "y", "t", timedelta(0), now) == [pytest.approx(3 / 5)]
    assert persistence(rows, "y", "t", timedelta(hours=2), now) == [pytest.approx(1 / 3)]


@pytest.mark.integration  # trains and scores a model per step, five times over (~6 CPU s)
def test_hindsight_is_a_ceiling_for_every_schedule_with_as_many_retrains() -> None:
    rules, history = policy(PERFORMANCE), stream(4, "concept")
    replays, _ = compare(rules, history, STEPS, DAY, "accuracy")
    by_name = {r.strategy: r for r in replays}
    none, at = hindsight(rules, history, STEPS, DAY, "accuracy", 0)
    assert at == () and none == pytest.approx(by_name["never"].mean_metric)
    for r in replays[1:]:  # no baseline beats the best schedule with as many models as it promoted
        best, at = hindsight(rules, history, STEPS, DAY, "accuracy", r.promotions)
        assert best >= r.mean_metric - 1e-9 and len(at) <= r.promotions, r.strategy
    # one retrain, chosen with hindsight, goes after the labels of the change (day 4, a day late)
    best, [when] = hindsight(rules, history, STEPS, DAY, "accuracy", 1)
    assert best > by_name["never"].mean_metric + 0.2 and when >= 4


def test_the_ceiling_is_at_least_the_policy_that_trains_from_the_change() -> None:
    # a 30-day window: a model on the window still follows the old rule after the change, the
    # policy's retrain trains on the rows from the change on (from_change), as the ceiling's
    rules, history = policy(PERFORMANCE, window="30d"), stream(4, "concept")
    result = replay(rules, history, STEPS, DAY, policy_strategy, "policy", "accuracy")
    assert result.promotions == 1 and result.retrained[0].since is not None
    window_only, _ = hindsight(rules, history, STEPS, DAY, "accuracy", result.promotions)
    assert window_only < result.mean_metric - 0.2  # the window alone is no ceiling here
    best, at = hindsight(rules, history, STEPS, DAY, "accuracy", result.promotions, result)
    assert best >= result.mean_metric - 1e-9 and len(at) <= result.promotions
