"""A wide window of a file glob checked from its batches' profiles, through the monitor flow.

Two policies watch the same batches with a window of `all`: one with `profiles: auto` (the
default), one with `profiles: rows` (the whole window read at every check). The first check of
the profiled one profiles every batch as it reads it; the next check, after one new (shifted)
batch, reads only that batch and loads the others' stored profiles (the counts are on the check's
summary and on its ledger run), and its drift verdicts, on the shifted and the unshifted features,
are the row-level ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Project
from test_monitor_support import (
    BOUND,
    SHIFTED,
    UNSHIFTED,
    at,
    check,
    ks_outcomes,
    ledger,
    profiled_twins,
)

from retrain_core.data.demo import Story, write_day, write_reference


@pytest.fixture()
def wide(project: Project) -> tuple[Project, Project]:
    """The project's policy on a window of all batches, without late labels, at 20,000 rows a
    day (the window passes drift's exact-test size after three days); and its twin reading rows."""
    story = Story(rows_per_day=20_000, reference_rows=3_000)
    write_reference(project.root, story)
    return profiled_twins(project, story, {"path": "data/churn/batches/*.parquet", "window": "all"})


def test_a_later_check_reads_only_the_new_batch_and_judges_drift_as_the_rows_do(
    wide: tuple[Project, Project], tracking_uri: str
) -> None:
    profiled, rows = wide
    for day in (1, 2, 3):
        write_day(profiled.root, profiled.story, day)
    first = check(profiled, at(3))
    assert first["profiles"] == {"batches": 3, "profiled": 3, "loaded": 0}
    assert first["rows"] == 60_000
    assert check(rows, at(3))["profiles"] is None  # the twin reads the rows

    write_day(profiled.root, profiled.story, 5)  # the shifted day
    later = check(profiled, at(5))
    assert later["profiles"] == {"batches": 4, "profiled": 1, "loaded": 3}
    assert later["rows"] == 80_000
    metrics = ledger(tracking_uri, profiled.name)[-1].data.metrics
    assert (metrics["batches.profiled"], metrics["batches.loaded"]) == (1.0, 3.0)
    by_rows = check(rows, at(5))
    assert by_rows["rows"] == 80_000

    mine, theirs = ks_outcomes(later), ks_outcomes(by_rows)
    assert set(mine) == {f"drift.ks.{f}" for f in SHIFTED + UNSHIFTED} == set(theirs)
    for name, outcome in mine.items():
        assert outcome["status"] == theirs[name]["status"], name
        assert abs(outcome["observed"] - theirs[name]["observed"]) <= BOUND, name
    share = next(o for o in later["outcomes"] if o["check"] == "drift.share")
    twin_share = next(o for o in by_rows["outcomes"] if o["check"] == "drift.share")
    assert (share["status"], share["reason"]) == (twin_share["status"], twin_share["reason"])
    assert any(mine[f"drift.ks.{f}"]["status"] == "fail" for f in SHIFTED), mine
    assert all(mine[f"drift.ks.{f}"]["status"] == "pass" for f in UNSHIFTED), mine
    volume = next(o for o in later["outcomes"] if o["check"].startswith("volume"))
    twin_volume = next(o for o in by_rows["outcomes"] if o["check"].startswith("volume"))
    assert volume["observed"] == twin_volume["observed"] == pytest.approx(100 / 3)  # 60k -> 80k
    quality = {
        o["check"]: o["status"] for o in later["outcomes"] if o["check"].startswith("quality")
    }
    twin_quality = {
        o["check"]: o["status"] for o in by_rows["outcomes"] if o["check"].startswith("quality")
    }
    assert quality == twin_quality and quality  # the policy's expectations, from the profile

    again = check(profiled, at(5, 3))  # nothing new: every batch from its stored profile
    assert again["profiles"] == {"batches": 4, "profiled": 0, "loaded": 4}
    assert ks_outcomes(again) == mine


def test_a_small_wide_window_is_still_tested_row_by_row(
    wide: tuple[Project, Project], tmp_path: Path
) -> None:
    profiled, rows = wide
    write_day(profiled.root, profiled.story, 1)  # 20,000 rows: drift tests them exactly
    small = check(profiled, at(1))
    assert small["profiles"] == {"batches": 1, "profiled": 1, "loaded": 0}
    assert ks_outcomes(small) == ks_outcomes(check(rows, at(1)))
