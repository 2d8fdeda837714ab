"""Hysteresis, cooldown and budget hold a real drift signal back exactly where the rules say.

Each test edits the policy to a drift-only trigger (no labels: the signal under test is the only
one) and lands batches whose phase it chooses, clean or shifted, one check per simulated day.
The first model counts as a retrain for the cooldown and the budget, as the ledger records it.
"""

from __future__ import annotations

from dataclasses import replace

from conftest import Project
from test_monitor_support import SHIFTED, at, check, drifted_features, fast, ledger, versions

DRIFT = {"drift": {"method": "ks", "p_value": 0.01, "correction": "bonferroni",
                   "min_effect": 0.1, "min_share": 0.3}}  # fmt: skip


def land(project: Project, day: int, shifted: bool) -> None:
    """Write day `day`'s batch, shifted or clean."""
    span = (day, day) if shifted else (99, 98)
    project.story = replace(project.story, shift_from=span[0], shift_until=span[1])
    project.write_day(day)


def drift_only(project: Project, **rules: object) -> None:
    """The quick estimator, no labels, and a drift trigger under the given rules."""
    fast(project)
    project.edit(data={"labels": None}, triggers={"any": [DRIFT], **rules})


def test_consecutive_waits_for_two_drifted_checks_in_a_row(
    project: Project, tracking_uri: str
) -> None:
    drift_only(project, consecutive=2, cooldown="1d", budget=None)
    land(project, 1, shifted=False)
    assert check(project, at(1))["verdict"] == "retrain"  # the first model

    land(project, 2, shifted=True)
    first = check(project, at(2))
    assert first["verdict"] == "suppressed" and first["suppressed_by"] == "hysteresis"
    assert first["reasons"][0] == "drift.share fired on 1 of 2 consecutive checks: waiting"
    assert "training" not in first

    land(project, 3, shifted=False)  # a clean check breaks the streak
    calm = check(project, at(3))
    assert calm["verdict"] == "hold" and calm["reasons"] == ["no trigger fired"]

    land(project, 4, shifted=True)
    again = check(project, at(4))
    assert again["suppressed_by"] == "hysteresis"
    assert again["reasons"][0] == "drift.share fired on 1 of 2 consecutive checks: waiting"

    land(project, 5, shifted=True)
    second = check(project, at(5))
    assert second["verdict"] == "retrain", second["reasons"]
    assert drifted_features(second["reasons"][0]) == set(SHIFTED)
    assert "training" in second

    runs = ledger(tracking_uri, project.name)
    assert [r.data.tags["retrain.decision"] for r in runs] == [
        "retrain", "suppressed", "hold", "suppressed", "retrain",
    ]  # fmt: skip
    assert [r.data.tags["retrain.suppressed_by"] for r in runs] == [
        "", "hysteresis", "", "hysteresis", "",
    ]  # fmt: skip
    # A held-back signal is still recorded as fired: that is how the next check counts the streak.
    assert [r.data.tags["retrain.fired"] for r in runs] == [
        "", "drift.share", "", "drift.share", "drift.share",
    ]  # fmt: skip
    assert versions(tracking_uri, project.name) == ["1", "2"]


def test_cooldown_then_budget_then_retrain_at_the_boundaries(
    project: Project, tracking_uri: str
) -> None:
    drift_only(project, consecutive=1, cooldown="2d", budget={"max": 2, "per": "7d"})
    land(project, 1, shifted=False)
    assert check(project, at(1))["verdict"] == "retrain"  # retrain 1: 2026-01-02 01:00

    land(project, 5, shifted=True)  # 4 days later: past the cooldown, 1 of 2 in the budget
    allowed = check(project, at(5))  # retrain 2: 2026-01-06 01:00
    assert allowed["verdict"] == "retrain", allowed["reasons"]

    land(project, 6, shifted=True)  # 1 day after retrain 2: within the 2d cooldown
    cooling = check(project, at(6))
    assert cooling["verdict"] == "suppressed" and cooling["suppressed_by"] == "cooldown"
    assert {"tenure", "monthly_charges"} <= drifted_features(cooling["reasons"][0]) <= set(SHIFTED)
    assert cooling["reasons"][-1] == (
        "cooldown: last retrain 1d ago, next allowed after 2026-01-08 01:00 UTC"
    )
    assert "training" not in cooling

    # Exactly 2d after retrain 2 the cooldown is over, but retrain 1 (6d ago) and retrain 2
    # both fall in the 7d budget window.
    land(project, 7, shifted=True)
    capped = check(project, at(7))
    assert capped["verdict"] == "suppressed" and capped["suppressed_by"] == "budget"
    assert capped["reasons"][-1] == "budget: 2 retrains in the last 7d (max 2)"
    assert "training" not in capped

    # Exactly 7d after retrain 1 it leaves the window: one retrain left in the budget.
    land(project, 8, shifted=True)
    freed = check(project, at(8))
    assert freed["verdict"] == "retrain", freed["reasons"]

    runs = ledger(tracking_uri, project.name)
    assert [r.data.tags["retrain.suppressed_by"] for r in runs] == [
        "", "", "cooldown", "budget", "",
    ]  # fmt: skip
    assert [r.data.metrics["decision.retrain"] for r in runs] == [1, 1, 0, 0, 1]
    assert versions(tracking_uri, project.name) == ["1", "2", "3"]
