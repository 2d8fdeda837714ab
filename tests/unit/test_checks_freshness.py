"""Freshness and champion-age checks with explicit, timezone-aware `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retrain_core.base.durations import format_duration
from retrain_core.base.outcome import Status
from retrain_core.checks.freshness import check_freshness, check_max_age

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_stale_data_fails_and_fresh_data_passes() -> None:
    stale = check_freshness(NOW - timedelta(days=3, hours=4), NOW, timedelta(days=2))
    assert stale.check == "freshness.newest" and stale.status is Status.FAIL
    assert stale.reason == "newest row is 3d 4h old > 2d"
    assert stale.observed == timedelta(days=3, hours=4).total_seconds()
    assert stale.threshold == timedelta(days=2).total_seconds()
    fresh = check_freshness(NOW - timedelta(minutes=45), NOW, timedelta(hours=1))
    assert fresh.status is Status.PASS and fresh.reason == "newest row is 45m old <= 1h"


def test_freshness_errors_and_clock_skew() -> None:
    assert check_freshness(None, NOW, timedelta(days=1)).status is Status.ERROR
    naive = check_freshness(datetime(2026, 3, 1), NOW, timedelta(days=1))
    assert naive.status is Status.ERROR and "no timezone" in naive.reason
    future = check_freshness(NOW + timedelta(minutes=5), NOW, timedelta(days=1))
    assert future.status is Status.PASS and "in the future" in future.reason
    with pytest.raises(ValueError, match="timezone-aware"):
        check_freshness(NOW, datetime(2026, 3, 1), timedelta(days=1))


def test_champion_age() -> None:
    old = check_max_age(NOW - timedelta(days=31), NOW, timedelta(days=30))
    assert old.check == "max_age.champion" and old.status is Status.FAIL
    assert old.reason == "champion is 31d old > 30d"
    young = check_max_age(NOW - timedelta(days=2), NOW, timedelta(days=30))
    assert young.status is Status.PASS
    none = check_max_age(None, NOW, timedelta(days=30))
    assert none.status is Status.FAIL and none.reason == "no champion yet"


def test_format_duration() -> None:
    assert format_duration(timedelta(seconds=12)) == "12s"
    assert format_duration(timedelta(0)) == "0s"
    assert format_duration(timedelta(days=1, hours=2, minutes=3)) == "1d 2h"
    assert format_duration(timedelta(hours=1, seconds=5)) == "1h 5s"
