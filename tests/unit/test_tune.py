"""`retrain tune`: the smallest thresholds that stay quiet on a stable stretch of history."""

from __future__ import annotations

from test_backtest import DAY, STEPS, policy, stream

from retrain_core.replay.tune import tune

TRIGGERS = {
    "any": [
        {"drift": {"min_share": 0.5, "min_effect": 0.01, "p_value": 0.5, "correction": "none"}},
        {"performance": {"metric": "accuracy", "drop": 0.01}},
    ]
}


def test_thresholds_that_fire_on_a_stable_stretch_are_raised_until_quiet() -> None:
    proposals = tune(policy(TRIGGERS), stream(99, "concept"), STEPS[:6], DAY, rate=0.0)
    by_rule = {p.rule: p for p in proposals}
    drift, perf = by_rule["drift"], by_rule["performance.accuracy"]
    assert drift.old == 0.01 and drift.new is not None and drift.new > drift.old
    assert drift.new_rate == 0.0
    assert perf.new is not None and perf.new_rate == 0.0
    loose = tune(policy(TRIGGERS), stream(99, "concept"), STEPS[:6], DAY, rate=1.0)
    assert {p.new for p in loose} == {0.01}  # any rate allowed: the most sensitive value
    assert "- drift.min_effect: 0.01" in drift.diff()
