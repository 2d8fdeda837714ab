"""`decide.swings`: the stream's usual swing between checks, from earlier champions' checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retrain_core.decide.records import LedgerEntry
from retrain_core.decide.swings import swings

RULE = "performance.accuracy"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ledger(*served: list[float], last_open: bool = True) -> list[LedgerEntry]:
    """Checks measuring `served[i]` under champion i; a promoting retrain ends each but the last."""
    entries, day = [], 0
    for index, values in enumerate(served):
        for position, value in enumerate(values):
            closes = position == len(values) - 1 and (index < len(served) - 1 or not last_open)
            training, measured = ("promoted" if closes else ""), ((RULE, value),)
            moment = T0 + timedelta(days=day)
            entries.append(
                LedgerEntry(moment, retrained=closes, training=training, measured=measured)
            )
            day += 1
    return entries


def test_deviations_from_each_earlier_champions_median() -> None:
    found = swings(ledger([0.80, 0.82, 0.78], [0.60, 0.64, 0.62, 0.66], [0.1, 0.9, 0.5]))
    assert sorted(found[RULE]) == pytest.approx(
        sorted([0.0, 0.02, -0.02, -0.03, 0.01, -0.01, 0.03])
    )


def test_the_serving_champion_and_short_reigns_show_no_swing() -> None:
    assert swings(ledger([0.80, 0.82], [0.5, 0.9, 0.7])) == {}  # 2 checks; the last is serving
    closed = swings(ledger([0.80, 0.82, 0.78], last_open=False))
    assert sorted(closed[RULE]) == pytest.approx([-0.02, 0.0, 0.02])


def test_the_fall_that_ended_a_champion_is_not_its_usual_swing() -> None:
    steady = [0.78, 0.77, 0.78, 0.79, 0.78, 0.47, 0.17]  # a crash ended it
    found = swings(ledger(steady, [0.5]))[RULE]
    assert max(abs(d) for d in found) <= 0.011 and len(found) == 5


def test_errors_and_other_rules_are_kept_apart() -> None:
    entries = [
        LedgerEntry(T0 + timedelta(days=i), measured=(("performance.f1", v),))
        for i, v in enumerate([0.5, 0.6, 0.7])
    ]
    entries.append(LedgerEntry(T0 + timedelta(days=3), retrained=True, training="promoted"))
    found = swings(entries)
    assert set(found) == {"performance.f1"} and sorted(found["performance.f1"]) == pytest.approx(
        [-0.1, 0.0, 0.1]
    )
