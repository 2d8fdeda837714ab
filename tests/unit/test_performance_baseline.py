"""What a performance `drop` is measured from: the champion's live rows, else its holdout."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from _data import churn_frame, churn_policy
from sklearn.dummy import DummyClassifier

from retrain_core.base.outcome import Status
from retrain_core.kinds.context import Champion, Context, Windows
from retrain_core.kinds.performance import evaluate
from retrain_core.policy.triggers import Trigger

RULE = Trigger.model_validate(
    {
        "performance": {
            "metric": "accuracy",
            "drop": 0.05,
            "baseline": "live",
            "baseline_rows": 200,
            "detector": "none",
        }
    }
)


NOW = datetime(2026, 2, 1, tzinfo=UTC)


def rows(n: int, accuracy: float, seed: int) -> pd.DataFrame:
    """Rows on which a model that always predicts 1 scores `accuracy` in every block of 100."""
    rng = np.random.default_rng(seed)
    hits = round(100 * accuracy)
    block = np.r_[np.ones(hits, int), np.zeros(100 - hits, int)]
    labels = np.concatenate([rng.permutation(block) for _ in range(-(-n // 100))])[:n]
    return churn_frame(n, seed=seed).assign(churned=labels)


def champion(holdout_accuracy: float) -> Champion:
    model = DummyClassifier(strategy="constant", constant=1)
    frame = rows(50, 0.5, seed=9)
    features = churn_policy().model.features.all
    model.fit(frame[features], frame["churned"])
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return Champion("1", moment, {"accuracy": holdout_accuracy}, model, holdout_rows=1000)


def judge(holdout: float, live: pd.DataFrame | None, now: float) -> tuple[Status, str]:
    windows = Windows(
        reference=rows(10, 0.5, 1), current=rows(10, 0.5, 2),
        labelled=rows(1500, now, 3), live=live,
    )  # fmt: skip
    context = Context(churn_policy(), windows, champion(holdout), NOW, RULE.rule_id)
    [outcome] = evaluate(RULE.config, context)
    return outcome.status, outcome.reason


def test_a_bad_first_live_stretch_does_not_anchor_the_floor() -> None:
    # 500 rows served in a passing shift (0.65), then 1000 good ones (0.80); now 0.66: a drop
    live = pd.concat([rows(500, 0.65, 4), rows(1000, 0.80, 5)], ignore_index=True)
    status, reason = judge(holdout=0.70, live=live, now=0.66)
    assert status is Status.FAIL and "live baseline (1500 rows served) 0.75" in reason, reason


def test_an_unlucky_holdout_is_replaced_by_the_live_level() -> None:
    # the holdout (a small sample) said 0.61; the champion serves at 0.80 live; now 0.66
    status, reason = judge(holdout=0.61, live=rows(1500, 0.80, 4), now=0.66)
    assert status is Status.FAIL and "live baseline (1500 rows served) 0.8 " in reason, reason


def test_the_holdout_until_enough_live_rows_exist() -> None:
    status, reason = judge(holdout=0.70, live=rows(150, 0.90, 4), now=0.68)
    assert status is Status.PASS and "holdout 0.7 " in reason, reason


def judge_new(holdout: float, now: float, swings: tuple[float, ...]) -> tuple[Status, str]:
    """A champion with no live rows yet, judged with the swing its predecessors showed."""
    windows = Windows(
        reference=rows(10, 0.5, 1), current=rows(10, 0.5, 2), labelled=rows(1000, now, 3),
        swings={RULE.rule_id: swings},
    )  # fmt: skip
    context = Context(churn_policy(), windows, champion(holdout), NOW, RULE.rule_id)
    [outcome] = evaluate(RULE.config, context)
    return outcome.status, outcome.reason


# what earlier champions measured on their checks, less their own level: a swing of about 0.07
WIDE = (0.08, -0.07, 0.05, -0.09, 0.02, 0.06, -0.04, -0.01, 0.07, -0.06)


def test_a_new_champion_is_judged_against_its_predecessors_swing() -> None:
    # a fall of 0.12 from its holdout is significant for 1000 rows, but ordinary for this stream
    status, reason = judge_new(holdout=0.80, now=0.68, swings=WIDE)
    assert status is Status.PASS and "swing over 10 earlier stretches" in reason, reason
    # the same fall on a stream whose batches barely move is a real drop
    narrow = tuple(d / 10 for d in WIDE)
    status, reason = judge_new(holdout=0.80, now=0.68, swings=narrow)
    assert status is Status.FAIL and "significant" in reason, reason
    # and a fall far outside the usual swing fires whatever the stream
    status, _ = judge_new(holdout=0.80, now=0.45, swings=WIDE)
    assert status is Status.FAIL


def test_without_predecessors_the_row_level_test_alone_decides() -> None:
    status, reason = judge_new(holdout=0.80, now=0.68, swings=())
    assert status is Status.FAIL and "significant" in reason, reason
