"""A SQL window's profile computed where its rows are equals `profile_frame` of the same window
read into pandas by `load_window`: bins, counts, nulls, min/max, newest, the window's watermark,
new and future rows, and the drift verdicts. PostgreSQL (pushed down: `width_bucket`, grouping
sets) and SQLite (streamed in small chunks), on data with NaN, NULL, values outside the
reference's range and on its bin edges, a categorical with more values than a profile counts,
and rows stamped before the watermark, after the check's time and not at all."""

from __future__ import annotations

import io
import math
import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrain_core.checks.batch_profile import MAX_CATEGORIES, BatchProfile, profile_frame
from retrain_core.checks.drift import detect_drift_profiled
from retrain_core.checks.profile import ReferenceProfile, build_profile
from retrain_core.checks.sql_profile import SqlWindowProfile, sql_window_profile
from retrain_core.data.batches import Rules
from retrain_core.data.errors import BadData, DataConfigError
from retrain_core.data.sources.sql import SqlQuery
from retrain_core.data.watermark import Watermark
from retrain_core.data.windows import load_window
from retrain_core.policy.sources import Source, Window

PG_URL = os.environ.get(
    "RETRAIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ADMIN_URL = PG_URL.replace("postgresql://", "postgresql+psycopg2://", 1)  # fixtures only

NUMERIC = ["x", "shifted", "steps", "r", "n", "i"]
CATEGORICAL = ["plan", "many", "empty_cat"]
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
TOLERANCE = timedelta(hours=1)
PREVIOUS = Watermark(timestamp=datetime(2026, 3, 4, tzinfo=UTC))
ROWS = MAX_CATEGORIES + 4_000
WINDOWS = {
    "since_last_check": (Window(since_last_check=True), PREVIOUS),
    "since_last_check_first": (Window(since_last_check=True), None),
    "last_3d": (Window(last=timedelta(days=3)), PREVIOUS),
    "all": (Window(), None),
}


def reference_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = 20_000
    return pd.DataFrame({
        "x": rng.normal(size=rows),
        "shifted": rng.normal(size=rows),
        "steps": rng.integers(0, 6, rows).astype(float),  # few values: one bin each
        "r": rng.normal(size=rows).astype(np.float32).astype(float),
        "n": np.round(rng.normal(size=rows), 4),
        "i": rng.integers(0, 50, rows).astype(float),
        "plan": rng.choice(["basic", "pro", "team"], rows),
        "many": rng.choice(["a", "b"], rows),
        "empty_cat": rng.choice(["u", "v"], rows),
    })  # fmt: skip


def current_rows(reference: ReferenceProfile) -> pd.DataFrame:
    """Rows with every edge case, as Python values: None is NULL, nan is NaN."""
    rng = np.random.default_rng(1)
    rows = ROWS
    x = rng.normal(size=rows)
    edges = reference.numeric["x"].edges
    picks = rng.choice(edges.size, 300)
    x[:300] = edges[picks]  # exactly on a bin edge
    x[300:600] = np.nextafter(edges[picks], -np.inf)  # just below one
    x[600:650] = [1e9, -1e9, math.inf, -math.inf, 25.0] * 10  # outside the reference's range
    x[650:700] = np.nan
    steps = rng.integers(-1, 8, rows).astype(float)  # values the reference never saw too
    steps[:100] = np.nextafter(steps[:100], np.inf)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    stamps: list[Any] = [
        start + timedelta(seconds=int(s)) for s in rng.integers(0, 9 * 86_400, rows)
    ]
    for k in range(0, rows, 97):
        stamps[k] = None
    for k in range(5, rows, 101):
        stamps[k] = NOW + TOLERANCE + timedelta(minutes=int(k % 7) + 1)  # in the future
    stamps[7] = NOW + TOLERANCE  # exactly the latest kept
    stamps[8] = PREVIOUS.timestamp  # exactly the watermark: not new
    frame = pd.DataFrame({
        "x": x,
        "shifted": rng.normal(0.4, 1.0, rows),
        "steps": steps,
        "r": rng.normal(size=rows).astype(np.float32).astype(float),
        "n": np.round(rng.normal(size=rows), 4),
        "i": rng.integers(-5, 60, rows).astype(float),
        "plan": rng.choice(["basic", "pro", "team", "new"], rows),
        "many": [f"id{k}" for k in range(rows)],
        "empty_cat": [None] * rows,
        "at": stamps,
    })  # fmt: skip
    frame = frame.astype(object)
    frame["at"] = pd.Series(stamps, dtype=object)  # None, not NaT
    for name in ["x", "shifted", "n", "i", "plan", "r"]:
        frame.loc[rng.choice(rows, 40, replace=False), name] = None  # NULL
    return frame


@pytest.fixture(scope="module")
def reference() -> ReferenceProfile:
    return build_profile(reference_frame(), NUMERIC, CATEGORICAL)


@pytest.fixture(scope="module")
def rows(reference: ReferenceProfile) -> pd.DataFrame:
    return current_rows(reference)


def expected(
    source: Source, window: Window, watermark: Watermark | None, reference: ReferenceProfile
) -> tuple[BatchProfile, Any]:
    """The window read into pandas as the monitor reads it, and its profile."""
    rules = Rules(timestamp="at", latest=NOW + TOLERANCE)
    columns = [*NUMERIC, *CATEGORICAL, "at"]
    loaded = load_window(source, columns, Path("/"), "at", watermark, rules=rules, window=window)
    return profile_frame(loaded.frame, reference, NUMERIC, CATEGORICAL, "at"), loaded


def computed(
    source: Source, window: Window, watermark: Watermark | None, reference: ReferenceProfile
) -> SqlWindowProfile:
    return sql_window_profile(
        source, Path("/"), reference, NUMERIC, CATEGORICAL, "at", window, watermark, NOW,
        TOLERANCE, rows=3_000,
    )  # fmt: skip


def assert_same(found: SqlWindowProfile, want: BatchProfile, loaded: Any) -> None:
    got = found.profile
    assert got.rows == want.rows == len(loaded.frame)
    assert got.nulls == want.nulls
    assert got.low == want.low
    assert got.high == want.high
    assert sorted(got.bins) == sorted(want.bins)
    for name in want.bins:
        np.testing.assert_array_equal(got.bins[name], want.bins[name], err_msg=name)
    assert got.counts == want.counts
    assert got.too_many == want.too_many
    assert got.newest == want.newest
    assert got.reference == want.reference
    assert found.watermark == loaded.watermark
    assert found.new_rows == loaded.new_rows
    assert found.future == loaded.future
    assert (found.oldest, found.newest) == (loaded.oldest, loaded.newest)


def verdicts(reference: ReferenceProfile, profile: BatchProfile, method: str) -> list[Any]:
    outcomes = detect_drift_profiled(reference, profile, NUMERIC, CATEGORICAL, method)
    return [(o.check, o.status, o.observed, o.reason) for o in outcomes]


def check_parity(source: Source, name: str, reference: ReferenceProfile) -> SqlWindowProfile:
    window, watermark = WINDOWS[name]
    want, loaded = expected(source, window, watermark, reference)
    found = computed(source, window, watermark, reference)
    assert_same(found, want, loaded)
    assert want.rows > 1000  # the window is not trivially empty
    if name in ("all", "since_last_check_first"):  # more values than a profile counts
        assert found.profile.too_many == {"many"}
    for method in ("ks", "chi2", "psi"):
        assert verdicts(reference, found.profile, method) == verdicts(reference, want, method)
    return found


# SQLite: the streamed fallback ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_source(rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Source:
    path = tmp_path_factory.mktemp("sqlprofile") / "warehouse.db"
    text = rows.copy()
    text["at"] = [s.isoformat() if s is not None else None for s in rows["at"]]
    with sqlite3.connect(path) as connection:
        text.to_sql("events", connection, index=False)
    return Source(sql=SqlQuery(url=f"sqlite:///{path}", query="SELECT * FROM events;"))


@pytest.mark.parametrize("name", list(WINDOWS))
def test_sqlite_window_profile_equals_the_rows_profile(
    sqlite_source: Source, reference: ReferenceProfile, name: str
) -> None:
    found = check_parity(sqlite_source, name, reference)
    assert not found.pushed_down


def test_sqlite_empty_window_and_refusals(
    sqlite_source: Source, reference: ReferenceProfile
) -> None:
    late = Watermark(timestamp=NOW + timedelta(days=30))
    found = computed(sqlite_source, Window(since_last_check=True), late, reference)
    want, loaded = expected(sqlite_source, Window(since_last_check=True), late, reference)
    assert found.rows == 0
    assert_same(found, want, loaded)
    with pytest.raises(DataConfigError, match="last_rows"):
        computed(sqlite_source, Window(last_rows=10), None, reference)
    with pytest.raises(DataConfigError, match=r"needs data\.timestamp"):
        sql_window_profile(
            sqlite_source, Path("/"), reference, NUMERIC, [], None, Window(last=timedelta(days=1))
        )
    with pytest.raises(BadData, match="missing"):
        sql_window_profile(sqlite_source, Path("/"), reference, NUMERIC, [], "nope", Window())


# PostgreSQL: pushed down ----------------------------------------------------------------------


def copy_text(value: Any) -> str:
    """A value as COPY's text format writes it: NULL as \\N, NaN and infinities by name."""
    if value is None:
        return "\\N"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@pytest.fixture(scope="module")
def pg_database(rows: pd.DataFrame) -> Iterator[str]:
    """A uniquely named database holding `events`, dropped afterwards; fails when PG is down."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    admin = create_engine(ADMIN_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    name = f"retrain_test_sqlprofile_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_URL} ({exc.orig}); start it, e.g. "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    url = make_url(PG_URL).set(database=name)
    engine = create_engine(url.set(drivername="postgresql+psycopg2"), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "CREATE TABLE events (x float8, shifted float8, steps float8, r real, "
                "n numeric(12, 4), i integer, plan text, many text, empty_cat text, at timestamptz)"
            ))  # fmt: skip
            buffer = io.StringIO()
            for record in rows.itertuples(index=False):
                values = [
                    None if v is None else int(v) if k == 5 else v for k, v in enumerate(record)
                ]
                buffer.write("\t".join(copy_text(v) for v in values) + "\n")
            buffer.seek(0)
            cursor = connection.connection.driver_connection.cursor()
            cursor.copy_expert("COPY events FROM STDIN", buffer)
            others = "x, shifted, steps, r, n, i, plan, many, empty_cat"
            connection.execute(text(  # the same rows stamped naive (UTC) and as ISO text
                f"CREATE VIEW events_naive AS SELECT {others}, at AT TIME ZONE 'UTC' AS at "
                f"FROM events; CREATE VIEW events_text AS SELECT {others}, "
                "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS at FROM events"
            ))  # fmt: skip
        yield url.render_as_string(hide_password=False)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_source(url: str, table: str = "events") -> Source:
    query = f"SELECT * FROM {table} WHERE at IS NULL OR at > :watermark -- rows after the mark"
    if table == "events_text":
        query = "SELECT * FROM events_text"
    return Source(sql=SqlQuery(url=url, query=query))


@pytest.mark.postgres
@pytest.mark.parametrize("name", list(WINDOWS))
def test_postgres_window_profile_is_pushed_down_and_equals_the_rows_profile(
    pg_database: str, reference: ReferenceProfile, name: str
) -> None:
    found = check_parity(pg_source(pg_database), name, reference)
    assert found.pushed_down
    assert found.profile.counts["plan"]["new"] > 0 and "empty_cat" in found.profile.counts


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["events_naive", "events_text"])
def test_postgres_naive_and_text_timestamps(
    pg_database: str, reference: ReferenceProfile, table: str
) -> None:
    for name in ("since_last_check", "last_3d"):
        found = check_parity(pg_source(pg_database, table), name, reference)
        assert found.pushed_down


@pytest.mark.postgres
def test_postgres_drift_verdicts_see_the_shift(
    pg_database: str, reference: ReferenceProfile
) -> None:
    found = computed(pg_source(pg_database), Window(), None, reference)
    failed = {
        o.check
        for o in detect_drift_profiled(reference, found.profile, NUMERIC, CATEGORICAL)
        if o.status == "fail"
    }
    assert "drift.ks.shifted" in failed and "drift.ks.x" not in failed


@pytest.mark.postgres
def test_postgres_empty_window_types_and_bound_params(
    pg_database: str, reference: ReferenceProfile
) -> None:
    late = Watermark(timestamp=NOW + timedelta(days=30))
    source = pg_source(pg_database)
    found = computed(source, Window(since_last_check=True), late, reference)
    want, loaded = expected(source, Window(since_last_check=True), late, reference)
    assert found.rows == 0
    assert_same(found, want, loaded)
    hostile = Source(sql=SqlQuery(
        url=pg_database,
        query="SELECT * FROM events WHERE (plan = :plan OR plan IS NULL) AND :param_1 = 1",
        params={"plan": "pro' OR '1'='1", "param_1": 1},
    ))  # fmt: skip
    for name in ("all",):
        window, watermark = WINDOWS[name]
        want, loaded = expected(hostile, window, watermark, reference)
        assert_same(computed(hostile, window, watermark, reference), want, loaded)
    with pytest.raises(BadData, match="not parseable"):
        sql_window_profile(source, Path("/"), reference, NUMERIC, [], "x", Window())


def test_sqlite_rows_are_streamed_in_bounded_chunks(sqlite_source: Source) -> None:
    from retrain_core.data.readers import typed

    reader = typed(sqlite_source, Path("/"))
    sizes = [len(chunk) for chunk in reader.stream(["x", "plan"], {}, rows=1_000)]  # type: ignore[attr-defined]
    assert max(sizes) == 1_000 and sum(sizes) == ROWS
    query = SqlQuery(url=sqlite_source.sql.url, query="SELECT * FROM events WHERE x > 1e300")  # type: ignore[union-attr]
    empty = list(typed(Source(sql=query), Path("/")).stream(["x", "plan"], {}))  # type: ignore[attr-defined]
    assert [list(frame.columns) for frame in empty] == [["x", "plan"]]  # one empty frame


@pytest.mark.postgres
def test_postgres_errors_name_no_values(pg_database: str, reference: ReferenceProfile) -> None:
    from retrain_core.data.errors import SourceUnavailable

    missing = Source(sql=SqlQuery(url=pg_database, query="SELECT * FROM no_such_table"))
    with pytest.raises(SourceUnavailable, match="no_such_table"):
        computed(missing, Window(), None, reference)
    secret = "hunter2-value"
    bad_cast = Source(sql=SqlQuery(
        url=pg_database, query="SELECT x, plan AS at FROM events WHERE plan <> :v",
        params={"v": secret},
    ))  # fmt: skip
    with pytest.raises(SourceUnavailable, match="failed on the data") as caught:
        computed(bad_cast, Window(), None, reference)  # 'basic' is not a timestamp
    assert secret not in str(caught.value) and "basic" not in str(caught.value)
