"""Durations: one parser and one formatter, for policies (exact) and for people (two units)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from retrain_core.base.durations import format_duration, parse_duration


@pytest.mark.parametrize("text", ["30s", "90m", "36h", "1d", "90d", "2w", "0s"])
def test_exact_text_reads_back_as_written(text: str) -> None:
    assert format_duration(parse_duration(text), exact=True) == text


def test_exact_text_of_a_duration_no_unit_divides_is_seconds() -> None:
    value = timedelta(days=1, hours=2, minutes=3, seconds=1)
    assert format_duration(value, exact=True) == "93781s"
    assert parse_duration(format_duration(value, exact=True)) == value


def test_text_for_people_is_the_two_largest_units_in_days_at_most() -> None:
    assert format_duration(timedelta(hours=36)) == "1d 12h"
    assert format_duration(timedelta(days=14)) == "14d"
    assert format_duration(timedelta(minutes=90)) == "1h 30m"
    assert format_duration(timedelta(minutes=-5)) == "-5m"
