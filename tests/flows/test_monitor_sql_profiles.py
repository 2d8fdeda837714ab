"""A wide window of a SQL source checked from its profile, computed where the rows are.

Two policies watch the same table with a window of `last: 10d`: one with `profiles: auto` (the
default: the window's profile from `checks.sql_profile`, pushed down into PostgreSQL, streamed on
SQLite; only the rows after the watermark read as rows), one with `profiles: rows` (the whole
window read at every check). After one new (shifted) day the profiled check reads only that
day's rows, its drift verdicts on the shifted and unshifted features are the twin's, and the
watermark advances as the twin's does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

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

from retrain_core.data import Watermark
from retrain_core.data.demo import Story, rng_day, write_reference

PG_URL = os.environ.get(
    "RETRAIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ROWS_PER_DAY = 30_000  # two days pass drift's exact-test size (50,000 rows)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, str, str]]:
    """(engine to write with, the policy's URL, a fresh table name), dropped afterwards."""
    from sqlalchemy import create_engine, text

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'events.db'}"
        engine = create_engine(url)
    else:
        url = PG_URL
        engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg2://", 1))
    name = f"events_{uuid4().hex[:12]}"
    try:
        yield engine, url, name
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"drop table if exists {name}"))
        engine.dispose()


@pytest.fixture()
def twins(project: Project, table: tuple[Any, str, str]) -> tuple[Project, Project]:
    """The project's policy on the table with a window of the last 10 days, without late labels;
    and its twin reading rows."""
    _, url, name = table
    story = Story(rows_per_day=ROWS_PER_DAY, reference_rows=3_000)
    write_reference(project.root, story)
    query = f"select * from {name} where event_time > :watermark"
    current = {"sql": {"url": url, "query": query}, "window": {"last": "10d"}}
    return profiled_twins(project, story, current)


def marks(uri: str, name: str) -> list[Any]:
    runs = ledger(uri, name)
    return [Watermark.from_json(r.data.tags["retrain.watermark.current"]).timestamp for r in runs]


def test_a_sql_window_is_profiled_in_the_database_and_judged_as_its_rows(
    twins: tuple[Project, Project], table: tuple[Any, str, str], tracking_uri: str
) -> None:
    profiled, rows = twins
    engine, url, name = table
    pushed = url.startswith("postgresql")

    def land(day: int) -> None:
        frame = rng_day(profiled.story, day).drop(columns=["churned"])
        frame.to_sql(name, engine, if_exists="append", index=False)

    land(1)
    land(2)
    first = check(profiled, at(2))
    assert first["profiles"] == {"rows_read": 2 * ROWS_PER_DAY, "pushed_down": pushed}
    assert first["rows"] == 2 * ROWS_PER_DAY
    assert check(rows, at(2))["profiles"] is None  # the twin reads the rows

    land(5)  # the shifted day
    later = check(profiled, at(5))
    assert later["profiles"] == {"rows_read": ROWS_PER_DAY, "pushed_down": pushed}  # new rows
    assert later["rows"] == 3 * ROWS_PER_DAY
    metrics = ledger(tracking_uri, profiled.name)[-1].data.metrics
    assert metrics["batches.rows_read"] == ROWS_PER_DAY
    by_rows = check(rows, at(5))
    assert by_rows["rows"] == 3 * ROWS_PER_DAY

    mine, theirs = ks_outcomes(later), ks_outcomes(by_rows)
    assert set(mine) == {f"drift.ks.{f}" for f in SHIFTED + UNSHIFTED} == set(theirs)
    for feature, outcome in mine.items():
        assert outcome["status"] == theirs[feature]["status"], feature
        assert abs(outcome["observed"] - theirs[feature]["observed"]) <= BOUND, feature
    assert any(mine[f"drift.ks.{f}"]["status"] == "fail" for f in SHIFTED), mine
    assert all(mine[f"drift.ks.{f}"]["status"] == "pass" for f in UNSHIFTED), mine
    volume = next(o for o in later["outcomes"] if o["check"].startswith("volume"))
    twin_volume = next(o for o in by_rows["outcomes"] if o["check"].startswith("volume"))
    assert volume["observed"] == twin_volume["observed"] == pytest.approx(50)  # 60k -> 90k
    quality = {
        o["check"]: o["status"] for o in later["outcomes"] if o["check"].startswith("quality")
    }
    twin_quality = {
        o["check"]: o["status"] for o in by_rows["outcomes"] if o["check"].startswith("quality")
    }
    assert quality == twin_quality and quality

    newest = [rng_day(profiled.story, day)["event_time"].max().to_pydatetime() for day in (2, 5)]
    assert marks(tracking_uri, profiled.name) == marks(tracking_uri, rows.name) == newest

    again = check(profiled, at(5, 3))  # nothing new: no row read, the window profiled again
    assert again["profiles"] == {"rows_read": 0, "pushed_down": pushed}
    assert again["rows"] == 3 * ROWS_PER_DAY and ks_outcomes(again) == mine
    assert marks(tracking_uri, profiled.name)[-1] == newest[-1]


def test_a_small_sql_window_is_still_tested_row_by_row(
    twins: tuple[Project, Project], table: tuple[Any, str, str]
) -> None:
    profiled, rows = twins
    engine, url, name = table
    rng_day(profiled.story, 1).drop(columns=["churned"]).to_sql(name, engine, index=False)
    small = check(profiled, at(1))  # 30,000 rows: drift tests them exactly
    assert small["profiles"] == {"rows_read": 2 * ROWS_PER_DAY,
                                 "pushed_down": url.startswith("postgresql")}  # fmt: skip
    assert small["rows"] == ROWS_PER_DAY
    assert ks_outcomes(small) == ks_outcomes(check(rows, at(1)))


def test_a_blocked_sql_window_records_what_its_rows_twin_records(
    twins: tuple[Project, Project], table: tuple[Any, str, str], tracking_uri: str
) -> None:
    """New rows that fail an expectation (monthly_charges >= 0) block both policies alike: a SQL
    source has no batch to set aside, so its watermark is the rows' in both."""
    profiled, rows = twins
    engine, _, name = table
    for day in (1, 2):
        rng_day(profiled.story, day).drop(columns=["churned"]).to_sql(
            name, engine, if_exists="append", index=False
        )
    for project in (profiled, rows):
        check(project, at(2))
    bad = rng_day(profiled.story, 3).drop(columns=["churned"])
    bad.loc[bad.index[:50], "monthly_charges"] = -1.0
    bad.to_sql(name, engine, if_exists="append", index=False)
    mine, theirs = check(profiled, at(3)), check(rows, at(3))
    assert mine["profiles"]["rows_read"] == ROWS_PER_DAY
    assert mine["verdict"] == theirs["verdict"] == "blocked", mine["reasons"]
    quality = {
        o["check"]: o["status"] for o in mine["outcomes"] if o["check"].startswith("quality")
    }
    twin_quality = {
        o["check"]: o["status"] for o in theirs["outcomes"] if o["check"].startswith("quality")
    }
    assert quality == twin_quality and "fail" in quality.values()
    assert marks(tracking_uri, profiled.name) == marks(tracking_uri, rows.name)
