"""Volume checks: FAIL always means the trigger's condition holds."""

from __future__ import annotations

from retrain_core.base.outcome import Status
from retrain_core.checks.volume import check_new_data, check_volume


def test_increase_beyond_the_bound_fails() -> None:
    outcome = check_volume(12_400, 10_000, increase_pct=20)
    assert outcome.check == "volume.rows" and outcome.status is Status.FAIL
    assert outcome.observed == 24.0 and outcome.threshold == 20
    assert outcome.reason == "12,400 rows vs 10,000 in the reference: +24% >= +20%"


def test_increase_within_the_bound_passes() -> None:
    outcome = check_volume(11_000, 10_000, increase_pct=20, baseline_name="previous window")
    assert outcome.status is Status.PASS
    assert outcome.reason == "11,000 rows vs 10,000 in the previous window: +10% < +20%"


def test_decrease_beyond_the_bound_fails_and_direction_without_bound_passes() -> None:
    fell = check_volume(5_000, 10_000, decrease_pct=30)
    assert fell.status is Status.FAIL and fell.observed == -50.0 and fell.threshold == -30
    assert fell.reason.endswith("-50% <= -30%")
    assert check_volume(9_000, 10_000, decrease_pct=30).status is Status.PASS
    unbounded = check_volume(5_000, 10_000, increase_pct=20)
    assert unbounded.status is Status.PASS and "no bound in this direction" in unbounded.reason


def test_volume_errors() -> None:
    assert check_volume(10, 0, increase_pct=20).status is Status.ERROR
    assert check_volume(-1, 10, increase_pct=20).status is Status.ERROR


def test_new_data_signal() -> None:
    enough = check_new_data(1_200, min_rows=1_000)
    assert enough.check == "new_data.rows" and enough.status is Status.FAIL
    assert enough.reason == "1,200 new rows >= 1,000"
    few = check_new_data(300, min_rows=1_000)
    assert few.status is Status.PASS and few.reason == "300 new rows < 1,000"
    none = check_new_data(0, min_rows=0)
    assert none.status is Status.PASS and none.reason == "no new data since the last check"
    assert check_new_data(-5, min_rows=1).status is Status.ERROR
