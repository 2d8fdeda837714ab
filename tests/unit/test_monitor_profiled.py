"""The pure pieces of judging a window from batch profiles: a batch's time bounds survive the
merge and a round trip, and a `last` window takes a batch whole, leaves it out or cuts it."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from retrain_core.checks.batch_profile import BatchProfile, merge, profile_frame
from retrain_core.checks.profile import build_profile
from retrain_core.monitor.profiled import in_window
from retrain_core.monitor.windows import ProfilePlan
from retrain_core.policy.sources import Window


def stamped(start: str, hours: int, missing: int = 0) -> pd.DataFrame:
    at = pd.date_range(start, periods=hours, freq="h", tz="UTC").to_series(index=range(hours))
    at.iloc[:missing] = pd.NaT
    return pd.DataFrame({"x": np.arange(hours, dtype=float), "at": at})


def test_a_profile_keeps_its_oldest_and_newest_time_and_its_rows_without_one() -> None:
    ref = build_profile(pd.DataFrame({"x": np.arange(100.0)}), ["x"], [])
    a = profile_frame(stamped("2026-01-01", 24, missing=2), ref, ["x"], [], "at")
    b = profile_frame(stamped("2026-01-03", 24), ref, ["x"], [], "at")
    assert (a.oldest, a.newest, a.untimed) == (
        "2026-01-01T02:00:00+00:00", "2026-01-01T23:00:00+00:00", 2,
    )  # fmt: skip
    both = merge([a, b])
    assert (both.oldest, both.newest, both.untimed) == (a.oldest, b.newest, 2)
    again = BatchProfile.from_dict(both.to_dict())
    assert (again.oldest, again.newest, again.untimed) == (both.oldest, both.newest, 2)
    old = both.to_dict()
    del old["oldest"], old["untimed"]  # stored before the bounds were kept: unknown
    assert BatchProfile.from_dict(old).oldest is None


def test_a_last_window_takes_whole_batches_leaves_old_ones_out_and_cuts_the_one_between() -> None:
    ref = build_profile(pd.DataFrame({"x": np.arange(100.0)}), ["x"], [])
    days = {
        f"d{day}": profile_frame(stamped(f"2026-01-0{day}", 24), ref, ["x"], [], "at")
        for day in (1, 2, 3, 4)
    }
    days["gappy"] = profile_frame(stamped("2026-01-04", 12, missing=1), ref, ["x"], [], "at")
    days["unknown"] = BatchProfile("", ref.key, rows=3, newest="2026-01-04T05:00:00+00:00")
    plan = ProfilePlan(Window(last=timedelta(hours=36)))
    whole, cut = in_window(days, plan)
    assert whole == ["d4"]  # d1 is out: its newest row is 36h or more before the newest
    since = pd.Timestamp("2026-01-04T23:00:00+00:00") - timedelta(hours=36)
    assert cut == {"d3": since, "gappy": since, "unknown": since}
    assert "d2" not in cut and "d1" not in cut
    assert in_window(days, ProfilePlan(Window()))[0] == list(days)  # all: every batch
