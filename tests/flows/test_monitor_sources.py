"""The monitor on a real PostgreSQL current source, with late labels joined to its rows.

The current window is a query with a bound `:watermark` (the newest event time already judged);
the labels arrive as files and are joined to the rows the query returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from conftest import Project
from test_monitor_support import at, check, fast, ledger

from retrain_core.data import Watermark
from retrain_core.data.demo import rng_day

URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture()
def table() -> Iterator[tuple[Any, str]]:
    """A fresh table name in the local PostgreSQL, dropped afterwards."""
    from sqlalchemy import create_engine, text

    engine = create_engine(URL.replace("postgresql://", "postgresql+psycopg2://"))
    name = f"monitor_{uuid4().hex[:12]}"
    try:
        yield engine, name
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"drop table if exists {name}"))
        engine.dispose()


@pytest.mark.postgres
def test_a_postgres_window_with_late_labels(
    project: Project, tracking_uri: str, table: tuple[Any, str]
) -> None:
    engine, name = table
    query = f"select * from {name} where event_time > :watermark order by event_time"
    fast(project)
    project.edit(
        data={"current": {"sql": {"url": URL, "query": query}, "window": "since_last_check"}}
    )

    def land(day: int) -> None:
        rows = rng_day(project.story, day).drop(columns=["churned"])
        rows.to_sql(name, engine, if_exists="append", index=False)
        project.write_day(day)  # also lands the previous day's labels as a file

    land(1)
    first = check(project, at(1))
    assert first["verdict"] == "retrain" and first["rows"] == 800
    assert first["training"]["status"] == "promoted"

    land(2)
    second = check(project, at(2))
    assert second["verdict"] == "hold", second["reasons"]
    assert second["rows"] == 800  # only the rows after the watermark
    measured = next(o for o in second["outcomes"] if o["check"] == "performance.accuracy")
    assert measured["status"] == "pass", measured  # day 1's labels, joined to the query's rows
    marks = [r.data.tags["retrain.watermark.current"] for r in ledger(tracking_uri, project.name)]
    newest = [rng_day(project.story, day)["event_time"].max().to_pydatetime() for day in (1, 2)]
    assert [Watermark.from_json(mark).timestamp for mark in marks] == newest
