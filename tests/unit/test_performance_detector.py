"""The performance trigger's detector: a sustained fall from a reference fixed when the champion
started serving, slow or sudden, and the drift confirmation that uses the same reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from _data import churn_frame, churn_policy
from sklearn.dummy import DummyClassifier

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.decide.decision import decide
from retrain_core.decide.pending import Fresh
from retrain_core.kinds.context import Champion, Context, Windows
from retrain_core.kinds.performance import evaluate
from retrain_core.policy.triggers import Trigger, Triggers

NOW = datetime(2026, 2, 1, tzinfo=UTC)
SETTINGS = {"metric": "accuracy", "drop": 0.05, "baseline": "live", "baseline_rows": 1000}
RULE = Trigger.model_validate({"performance": SETTINGS})
OLD = Trigger.model_validate({"performance": {**SETTINGS, "detector": "none"}})


def rows(n: int, accuracy: float, seed: int) -> pd.DataFrame:
    """Rows on which a model that always predicts 1 scores `accuracy` in every block of 100."""
    rng = np.random.default_rng(seed)
    hits = round(100 * accuracy)
    block = np.r_[np.ones(hits, int), np.zeros(100 - hits, int)]
    labels = np.concatenate([rng.permutation(block) for _ in range(-(-n // 100))])[:n]
    return churn_frame(n, seed=seed).assign(churned=labels)


def champion(holdout_accuracy: float = 0.85) -> Champion:
    model = DummyClassifier(strategy="constant", constant=1)
    frame = rows(50, 0.5, seed=9)
    model.fit(frame[churn_policy().model.features.all], frame["churned"])
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return Champion("1", moment, {"accuracy": holdout_accuracy}, model, holdout_rows=1000)


def served(*accuracies: float) -> pd.DataFrame:
    """Live rows: one batch of 1,000 per accuracy, oldest first."""
    parts = [rows(1000, a, seed=10 + i) for i, a in enumerate(accuracies)]
    return pd.concat(parts, ignore_index=True)


def outcome(live: pd.DataFrame | None, now: float, rule: Trigger = RULE) -> CheckOutcome:
    windows = Windows(
        reference=rows(10, 0.5, 1), current=rows(10, 0.5, 2),
        labelled=rows(1000, now, 3), live=live,
    )  # fmt: skip
    context = Context(churn_policy(), windows, champion(), NOW, rule.rule_id)
    [found] = evaluate(rule.config, context)
    return found


def test_a_slow_decay_fires_against_the_fixed_reference_where_the_live_mean_follows_it() -> None:
    # the case: every low batch pulls the mean of all live rows down with it
    live = served(0.85, 0.84, 0.83, 0.82, 0.81, 0.80)
    found = outcome(live, now=0.79)
    assert found.status is Status.FAIL, found.reason
    assert "reference 0.85 (its first 1000 live rows): CUSUM" in found.reason, found.reason
    assert found.threshold is not None and abs(found.threshold - 0.80) < 1e-9
    old = outcome(live, now=0.79, rule=OLD)
    assert old.status is Status.PASS and "live baseline (6000 rows served) 0.825" in old.reason


def test_the_same_fall_not_yet_sustained_holds() -> None:
    found = outcome(served(0.85, 0.84, 0.83, 0.82, 0.81), now=0.80)
    assert found.status is Status.PASS and "CUSUM 3.9" in found.reason, found.reason


def test_a_sudden_fall_fires_at_once_and_an_ordinary_swing_does_not() -> None:
    assert outcome(served(0.85), now=0.70).status is Status.FAIL
    stable = served(0.85, 0.84, 0.86, 0.85, 0.84, 0.86, 0.85, 0.84, 0.86, 0.85)
    found = outcome(stable, now=0.84)
    assert found.status is Status.PASS and "CUSUM 0 <=" in found.reason, found.reason


def test_a_recurring_concept_fires_and_the_reference_does_not_move() -> None:
    # the old concept comes back for two batches: fires on the second
    assert outcome(served(0.85, 0.85, 0.85, 0.77), now=0.77).status is Status.FAIL
    # the alarm of the second was answered then; after the concept returns the detector is quiet
    found = outcome(served(0.85, 0.85, 0.77, 0.77), now=0.85)
    assert found.status is Status.PASS and "reference 0.85" in found.reason, found.reason


def test_the_champion_swing_widens_the_yardstick() -> None:
    # a champion whose batches swing by +-0.08 (Elec2-like): one batch 0.09 low is ordinary
    swinging = served(0.85, 0.93, 0.77, 0.93, 0.77, 0.93, 0.77, 0.93, 0.77, 0.93)
    assert outcome(swinging, now=0.76).status is Status.PASS
    assert outcome(served(0.85, *[0.85] * 9), now=0.76).status is Status.FAIL


def test_the_holdout_until_the_reference_stretch_is_served() -> None:
    found = outcome(rows(500, 0.85, 4), now=0.84)
    assert found.status is Status.PASS and "holdout 0.85" in found.reason, found.reason


def test_labels_of_a_drift_that_show_a_slow_fall_confirm_it() -> None:
    triggers = Triggers.model_validate(
        {"any": [{"drift": {"min_share": 0.2}}, {"performance": SETTINGS}], "await_labels": 200}
    )
    drift = CheckOutcome("drift.share", Status.FAIL, "3 of 6 features drifted", 0.5, 0.2)
    change, day = NOW - timedelta(hours=20), timedelta(days=1)
    pending = decide(
        triggers, [drift], [], NOW - day, has_champion=True, fresh=Fresh(change, 0, day)
    )
    assert pending.verdict == "pending"
    live = served(0.85, 0.84, 0.83, 0.82)
    for rule, retrains in ((RULE, True), (OLD, False)):
        measured = outcome(live, now=0.81, rule=rule)
        assert measured.status is Status.PASS, measured.reason  # neither fires on its own
        decision = decide(
            triggers, [measured], [pending.ledger_entry()], NOW, has_champion=True,
            fresh=Fresh(change, 1000, day),
        )  # fmt: skip
        assert decision.retrain is retrains, decision.reasons
    # with the fixed reference the fall is sustained; from the mean of all live rows it is chance
    assert "baseline 0.85 (significant" in " ".join(decision.reasons) or not retrains
