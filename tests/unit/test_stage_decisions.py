"""Staged rollout, pure parts: the tests behind a stage, its verdicts, the order and the split."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from _data import churn_policy

from retrain_core.checks.paired import NotWorse, not_worse_paired, not_worse_split
from retrain_core.decide.stages import judge, next_stage, to_canary
from retrain_core.policy.schema import Policy
from retrain_core.policy.stages import Stage

NOW = datetime(2026, 3, 8, tzinfo=UTC)
SHADOW = Stage.model_validate({"shadow": {"min_rows": 500, "max_period": "7d"}})
CANARY = Stage.model_validate({"canary": {"share": 0.2, "key": "customer_id", "min_rows": 100}})


def labelled(rows: int, accuracy: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The same labels for every seed, predictions right on a random `accuracy` share of them."""
    y = np.random.default_rng(0).integers(0, 2, rows)
    right = np.random.default_rng(seed).random(rows) < accuracy
    return y, np.where(right, y, 1 - y)


def paired(rows: int, champion: float, challenger: float) -> NotWorse:
    y, a = labelled(rows, champion, 1)
    _, b = labelled(rows, challenger, 2)
    return not_worse_paired("accuracy", y, (a, None, None), (b, None, None), 0.01)


def test_a_better_challenger_is_significantly_not_worse_and_a_worse_one_worse() -> None:
    better = paired(2000, 0.75, 0.80)
    assert better.p_not_worse < 0.001 and better.p_worse > 0.5 and better.rows == 2000
    worse = paired(2000, 0.80, 0.70)
    assert worse.p_worse < 0.001 and worse.p_not_worse > 0.5


def test_a_negative_margin_asks_for_a_challenger_better_by_that_much() -> None:
    y, a = labelled(2000, 0.75, 1)
    _, b = labelled(2000, 0.80, 2)  # about 0.05 better
    champion, challenger = (a, None, None), (b, None, None)
    assert not_worse_paired("accuracy", y, champion, challenger, -0.01).p_not_worse < 0.01
    assert not_worse_paired("accuracy", y, champion, challenger, -0.10).p_not_worse > 0.5
    stage = Stage.model_validate({"shadow": {"min_rows": 500, "margin": -0.01}})
    found = not_worse_paired("accuracy", y, champion, challenger, -0.01)
    verdict = judge(stage, "2", "accuracy", found, NOW - timedelta(days=1), NOW)
    assert verdict.action == "advance"
    assert verdict.reasons[0].startswith("shadow of v2: better by at least 0.01 at 95%: ")


def test_the_split_test_judges_each_model_on_its_own_rows() -> None:
    ya, a = labelled(1800, 0.75, 3)
    yb, b = labelled(400, 0.85, 4)
    found = not_worse_split("accuracy", (ya, (a, None, None)), (yb, (b, None, None)), 0.01)
    assert (found.rows, found.champion_rows) == (400, 1800)
    assert found.p_not_worse < 0.01 and found.p_worse > 0.5
    assert found.challenger == pytest.approx(b.__eq__(yb).mean())


def test_a_regression_margin_is_in_rmse_units() -> None:
    y = np.zeros(1000)
    champion = (np.full(1000, 1.0), None, None)  # rmse 1.0
    slightly = (np.where(np.arange(1000) % 2, 1.0, 1.01), None, None)  # rmse ~1.005
    found = not_worse_paired("rmse", y, champion, slightly, 0.01)
    assert found.challenger == pytest.approx(1.005, abs=1e-3)
    assert found.p_not_worse < 0.05 and found.p_worse < 0.05  # worse, but by less than 0.01


def test_a_stage_advances_rejects_or_waits() -> None:
    since = NOW - timedelta(days=2)
    advance = judge(SHADOW, "2", "accuracy", paired(2000, 0.75, 0.80), since, NOW)
    assert advance.action == "advance"
    assert advance.reasons[0].startswith("shadow of v2: not worse by more than 0.01 at 95%: ")
    assert "accuracy 0.79" in advance.reasons[0] and "on 2000 rows" in advance.reasons[0]
    worse = judge(SHADOW, "2", "accuracy", paired(2000, 0.80, 0.70), since, NOW)
    assert worse.action == "reject" and "significantly worse" in worse.reasons[0]
    few = judge(SHADOW, "2", "accuracy", paired(300, 0.75, 0.80), since, NOW)
    assert few.action == "wait" and "waiting for 500 rows" in few.reasons[0]
    assert judge(SHADOW, "2", "accuracy", None, since, NOW).action == "wait"


def test_an_undecided_stage_is_rejected_when_its_period_ends() -> None:
    even = paired(600, 0.78, 0.78)
    assert judge(SHADOW, "2", "accuracy", even, NOW - timedelta(days=1), NOW).action == "wait"
    late = judge(SHADOW, "2", "accuracy", even, NOW - timedelta(days=7), NOW)
    assert late.action == "reject" and "undecided after 7d" in late.reasons[0]


def staged(*stages: Stage) -> Policy:
    policy = churn_policy()
    promotion = policy.promotion.model_copy(update={"stages": list(stages)})
    return policy.model_copy(update={"promotion": promotion})


def test_stages_follow_the_policys_order_then_champion() -> None:
    both = staged(SHADOW, CANARY)
    assert next_stage(both, None) == SHADOW
    assert next_stage(both, "shadow") == CANARY
    assert next_stage(both, "canary") is None
    assert next_stage(staged(CANARY), None) == CANARY
    assert next_stage(churn_policy(), None) is None  # no stages: promoted at once


def test_the_canary_split_is_stable_and_near_its_share() -> None:
    keys = np.arange(20_000)
    routed = to_canary(keys, 0.1)
    assert 0.09 < np.mean(routed) < 0.11
    assert routed == to_canary([int(k) for k in keys], 0.1)  # numpy or Python ints alike
    assert to_canary(["a", "b"], 0.5) == to_canary(["a", "b"], 0.5)
