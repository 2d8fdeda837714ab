"""Every source kind: CSV, Parquet, globs, fsspec URLs, SQL on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retrain_core.data import BadData, DataConfigError, SourceUnavailable, read_source
from retrain_core.data.readers import describe, typed
from retrain_core.data.sources.files import FileSource, list_files
from retrain_core.data.sources.sql import SqlQuery, SqlSource
from retrain_core.data.windows import load_window
from retrain_core.policy.source_kinds import SOURCE_KINDS
from retrain_core.policy.sources import LabelSource, Source

PG_URL = os.environ.get(
    "RETRAIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ADMIN_URL = PG_URL.replace("postgresql://", "postgresql+psycopg2://", 1)  # fixtures only


def sample(start: int = 0, rows: int = 3) -> pd.DataFrame:
    """A small frame with a numeric, a text and an unused column."""
    ids = list(range(start, start + rows))
    return pd.DataFrame(
        {"id": ids, "tenure": [i * 1.5 for i in ids], "plan": ["a"] * rows, "unused": ids}
    )


def write(frame: pd.DataFrame, path: Path) -> Path:
    """Write CSV or Parquet by extension, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("name", ["data/one.csv", "data/one.parquet"])
def test_file_reads_only_the_wanted_columns(tmp_path: Path, name: str) -> None:
    write(sample(), tmp_path / name)
    frame = read_source(Source(path=name), ["plan", "id"], tmp_path)
    assert list(frame.columns) == ["plan", "id"]
    assert "unused" not in frame and "tenure" not in frame
    assert frame["id"].tolist() == [0, 1, 2]


@pytest.mark.parametrize("name", ["one.csv", "one.parquet"])
def test_a_missing_column_is_left_out_not_an_error(tmp_path: Path, name: str) -> None:
    write(sample(), tmp_path / name)
    frame = read_source(Source(path=name), ["id", "no_such_column"], tmp_path)
    assert list(frame.columns) == ["id"]


def test_columns_none_reads_everything(tmp_path: Path) -> None:
    write(sample(), tmp_path / "one.parquet")
    frame = read_source(Source(path="one.parquet"), None, tmp_path)
    assert list(frame.columns) == ["id", "tenure", "plan", "unused"]


def test_glob_concatenates_files_in_key_order(tmp_path: Path) -> None:
    for name, start in [("b2", 20), ("b1", 10), ("b3", 30)]:
        write(sample(start, 2), tmp_path / "batches" / f"{name}.parquet")
    frame = read_source(Source(path="batches/*.parquet"), ["id"], tmp_path)
    assert frame["id"].tolist() == [10, 11, 20, 21, 30, 31]


def test_recursive_glob_keys_are_relative_to_the_fixed_folder(tmp_path: Path) -> None:
    write(sample(), tmp_path / "b" / "2024" / "x.csv")
    write(sample(), tmp_path / "b" / "2025" / "y.csv")
    files = list_files(Source(path=str(tmp_path / "b" / "**" / "*.csv")), tmp_path)
    assert files.keys == ("2024/x.csv", "2025/y.csv")


def test_csv_gz_and_explicit_format(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "one.csv.gz", "wt") as handle:
        sample().to_csv(handle, index=False)
    sample().to_csv(tmp_path / "one.data", index=False)
    assert len(read_source(Source(path="one.csv.gz"), ["id"], tmp_path)) == 3
    assert len(read_source(Source(path="one.data", format="csv"), ["id"], tmp_path)) == 3
    with pytest.raises(DataConfigError, match="format"):
        read_source(Source(path="one.data"), ["id"], tmp_path)


def test_memory_fsspec_url_glob(tmp_path: Path) -> None:
    bucket = f"retrain-test-{uuid.uuid4().hex[:8]}"
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.retrain]\ndata_roots = ["memory://{bucket}/"]\n'
    )
    fs = fsspec.filesystem("memory")
    try:
        for name, start in [("b", 3), ("a", 0)]:
            with fs.open(f"/{bucket}/{name}.parquet", "wb") as handle:
                pq.write_table(pa.Table.from_pandas(sample(start), preserve_index=False), handle)
        frame = read_source(Source(path=f"memory://{bucket}/*.parquet"), ["id"], tmp_path)
        assert frame["id"].tolist() == [0, 1, 2, 3, 4, 5]
        assert list(frame.columns) == ["id"]
    finally:
        fs.rm(f"/{bucket}", recursive=True)


def test_file_url(tmp_path: Path) -> None:
    write(sample(), tmp_path / "one.csv")
    frame = read_source(Source(path=f"file://{tmp_path}/one.csv"), ["tenure"], Path("/"))
    assert frame["tenure"].tolist() == [0.0, 1.5, 3.0]


def test_missing_file_and_empty_glob_are_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match=r"file not found: missing\.parquet"):
        read_source(Source(path="missing.parquet"), None, tmp_path)
    with pytest.raises(SourceUnavailable, match=r"no file matches batches/\*.csv"):
        read_source(Source(path="batches/*.csv"), None, tmp_path)


def test_corrupt_file_is_bad_data(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"not a parquet file at all")
    with pytest.raises(BadData, match=r"bad\.parquet: cannot read as parquet"):
        read_source(Source(path="bad.parquet"), None, tmp_path)


def test_batches_with_incompatible_types_are_bad_data(tmp_path: Path) -> None:
    write(pd.DataFrame({"id": [1]}), tmp_path / "b" / "1.parquet")
    write(pd.DataFrame({"id": ["x"]}), tmp_path / "b" / "2.parquet")
    with pytest.raises(BadData, match="do not share column types"):
        read_source(Source(path="b/*.parquet"), ["id"], tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database with a table t(id, tenure, plan, unused)."""
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as connection:
        sample(0, 5).to_sql("t", connection, index=False)
    return f"sqlite:///{path}"


def test_sqlite_with_bound_params(sqlite_url: str) -> None:
    sql = SqlQuery(url=sqlite_url, query="SELECT * FROM t WHERE id >= :low", params={"low": 3})
    frame = read_source(Source(sql=sql), ["id", "tenure"], Path("/"))
    assert list(frame.columns) == ["id", "tenure"]
    assert frame["id"].tolist() == [3, 4]
    runtime = read_source(Source(sql=sql), ["id"], Path("/"), {"low": 4, "unused_param": 1})
    assert runtime["id"].tolist() == [4]


def test_sql_params_are_bound_never_formatted(sqlite_url: str) -> None:
    hostile = "a' OR '1'='1"
    sql = SqlQuery(
        url=sqlite_url, query="SELECT id FROM t WHERE plan = :plan", params={"plan": hostile}
    )
    assert read_source(Source(sql=sql), None, Path("/")).empty


def test_sql_param_without_value_is_a_config_error(sqlite_url: str) -> None:
    sql = SqlQuery(url=sqlite_url, query="SELECT id FROM t WHERE id > :low")
    with pytest.raises(DataConfigError, match=":low"):
        read_source(Source(sql=sql), None, Path("/"))


def test_sql_url_from_environment(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sql = SqlQuery(url_env="RETRAIN_TEST_DB_URL", query="SELECT id FROM t")
    monkeypatch.delenv("RETRAIN_TEST_DB_URL", raising=False)
    with pytest.raises(SourceUnavailable, match="RETRAIN_TEST_DB_URL"):
        read_source(Source(sql=sql), None, Path("/"))
    monkeypatch.setenv("RETRAIN_TEST_DB_URL", sqlite_url)
    assert len(read_source(Source(sql=sql), None, Path("/"))) == 5
    assert describe(Source(sql=sql)) == "sql on $RETRAIN_TEST_DB_URL"


def test_sql_missing_table_is_unavailable(sqlite_url: str) -> None:
    sql = SqlQuery(url=sqlite_url, query="SELECT id FROM nowhere")
    with pytest.raises(SourceUnavailable, match="no such table"):
        read_source(Source(sql=sql), None, Path("/"))


def test_refused_database_is_unavailable_and_never_shows_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETRAIN_TEST_DB_URL", "postgresql://postgres:s3cr%2Ft@127.0.0.1:1/postgres")
    sql = SqlQuery(url_env="RETRAIN_TEST_DB_URL", query="SELECT 1")
    with pytest.raises(SourceUnavailable, match="refused") as caught:
        read_source(Source(sql=sql), None, Path("/"))
    assert "s3cr" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:hunter2@127.0.0.1:1/postgres",
        "postgresql://postgres:hun/ter2@127.0.0.1:1/postgres",
        "postgresql://postgres@127.0.0.1:1/postgres?password=hunter2",
    ],
)
def test_a_password_in_a_policy_url_is_refused_and_masked(url: str) -> None:
    sql = SqlQuery(url=url, query="SELECT 1")
    with pytest.raises(DataConfigError, match="password") as caught:
        read_source(Source(sql=sql), None, Path("/"))
    shown = [str(caught.value), describe(Source(sql=sql))]
    assert not [text for text in shown if "hunter2" in text or "ter2" in text]
    assert "hunter2" not in describe(Source(path="s3://key:hunter2@bucket/x.csv"))


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A uniquely named PostgreSQL schema, dropped afterwards; fails when PG is unreachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    engine = create_engine(ADMIN_URL, poolclass=NullPool)
    schema = f"retrain_test_{uuid.uuid4().hex[:12]}"
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_URL} ({exc.orig}); start it, e.g. "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    try:
        yield schema
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def create_events(
    schema: str, rows: list[tuple[int, datetime, str, str]], stamp: str = "timestamptz"
) -> None:
    """Create and fill schema.events(id, event_time, amount numeric, plan, note)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(ADMIN_URL, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text(
                f'CREATE TABLE IF NOT EXISTS "{schema}".events (id int, event_time {stamp}, '
                "amount numeric(10, 2), plan text, note text)"
            )
        )
        connection.execute(
            text(f'INSERT INTO "{schema}".events VALUES (:id, :ts, :amount, :plan, :note)'),
            [{"id": i, "ts": ts, "amount": a, "plan": p, "note": "x"} for i, ts, a, p in rows],
        )
    engine.dispose()


@pytest.mark.postgres
def test_postgres_with_bound_params(pg_schema: str) -> None:
    day = datetime(2024, 5, 1, tzinfo=UTC)
    create_events(pg_schema, [(1, day, "10.50", "basic"), (2, day, "20.25", "pro")])
    sql = SqlQuery(
        url=PG_URL,
        query=f'SELECT * FROM "{pg_schema}".events WHERE plan = :plan',
        params={"plan": "pro"},
    )
    frame = read_source(Source(sql=sql), ["id", "amount", "event_time"], Path("/"))
    assert list(frame.columns) == ["id", "amount", "event_time"]
    assert frame["id"].tolist() == [2]
    assert frame["amount"].dtype.kind == "f"
    assert pd.Timestamp(frame["event_time"].iloc[0]) == pd.Timestamp(day)


@pytest.mark.postgres
def test_postgres_since_last_check_binds_the_watermark(
    pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A naive timestamp column is UTC even when the client's time zone is not."""
    from retrain_core.data import Watermark, load_window
    from retrain_core.policy.sources import CurrentSource

    monkeypatch.setenv("PGTZ", "Asia/Tokyo")  # east of UTC: a wrong cast skips rows
    day = datetime(2024, 5, 1)
    create_events(pg_schema, [(1, day, "1", "a"), (2, day.replace(hour=3), "2", "a")], "timestamp")
    query = f'SELECT id, event_time FROM "{pg_schema}".events WHERE event_time > :watermark'
    source = CurrentSource(sql=SqlQuery(url=PG_URL, query=query), window="since_last_check")
    first = load_window(source, ["id", "event_time"], Path("/"), "event_time", None)
    assert first.frame["id"].tolist() == [1, 2]
    assert first.watermark is not None
    assert first.watermark.timestamp == day.replace(hour=3, tzinfo=UTC)
    mark = Watermark.from_json(first.watermark.to_json())
    assert load_window(source, None, Path("/"), "event_time", mark).rows == 0
    create_events(pg_schema, [(3, day.replace(hour=4), "3", "b")])
    third = load_window(source, None, Path("/"), "event_time", mark)
    assert third.frame["id"].tolist() == [3] and third.newest == day.replace(hour=4, tzinfo=UTC)


# --- confinement: nothing outside the project and data_roots is read, nothing is written -----


SECRET_LINE = "root:x:0:0:TOPSECRET:/root:/bin/bash"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A project folder, and beside it a file the policy must not read."""
    secret = tmp_path / "outside" / "passwd.csv"
    secret.parent.mkdir()
    secret.write_text(f"line\n{SECRET_LINE}\n")
    (tmp_path / "project").mkdir()
    return secret


@pytest.mark.parametrize(
    "path",
    ["{secret}", "../outside/passwd.csv", "data/../../outside/passwd.csv", "file://{secret}",
     "~/passwd.csv", "simplecache::file://{secret}"],
)  # fmt: skip
def test_paths_outside_the_roots_are_refused_without_reading(outside: Path, path: str) -> None:
    source = Source(path=path.format(secret=outside), format="csv")
    with pytest.raises(DataConfigError) as caught:
        read_source(source, None, outside.parent.parent / "project")
    assert "TOPSECRET" not in str(caught.value)


def test_a_symlink_out_of_the_project_is_refused(outside: Path) -> None:
    project = outside.parent.parent / "project"
    (project / "data").mkdir()
    (project / "data" / "batch.csv").symlink_to(outside)
    with pytest.raises(DataConfigError, match="resolve outside") as caught:
        read_source(Source(path="data/batch.csv"), None, project)
    assert "TOPSECRET" not in str(caught.value)


def test_data_roots_allow_a_folder_outside_the_project(outside: Path) -> None:
    project = outside.parent.parent / "project"
    (project / "pyproject.toml").write_text('[tool.retrain]\ndata_roots = ["../outside"]\n')
    frame = read_source(Source(path=str(outside)), None, project)
    assert frame.columns.tolist() == ["line"]


@pytest.mark.parametrize("name", ["bad.csv", "bad.parquet"])
def test_a_file_that_does_not_parse_is_never_quoted(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(f"a,b\n{SECRET_LINE},x,y\n{SECRET_LINE}\n")
    with pytest.raises(BadData, match="cannot read as") as caught:
        read_source(Source(path=name), None, tmp_path)
    assert "TOPSECRET" not in str(caught.value) and "root:x" not in str(caught.value)


STACKED = "SELECT id FROM t; COMMIT; DROP TABLE t; SELECT 1"


def test_stacked_sqlite_statements_are_refused_and_drop_nothing(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DataConfigError, match="exactly one statement"):
        read_source(Source(sql=SqlQuery(url=sqlite_url, query=STACKED)), None, Path("/"))
    # even past the text check, the read-only connection writes nothing
    monkeypatch.setattr("retrain_core.data.sql.statement_problem", lambda query: None)
    for query in (STACKED, "DROP TABLE t", "DELETE FROM t"):
        with pytest.raises(SourceUnavailable):
            read_source(Source(sql=SqlQuery(url=sqlite_url, query=query)), None, Path("/"))
    still = read_source(Source(sql=SqlQuery(url=sqlite_url, query="SELECT id FROM t")), None,
                        Path("/"))  # fmt: skip
    assert len(still) == 5


def test_sqlite_file_outside_the_roots_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    sql = SqlQuery(url=sqlite_url, query="SELECT id FROM t")  # sqlite:////abs/warehouse.db
    with pytest.raises(DataConfigError, match="outside the project"):
        read_source(Source(sql=sql), None, project)
    relative = SqlQuery(url="sqlite:///../warehouse.db", query="SELECT id FROM t")
    with pytest.raises(DataConfigError, match="outside the project"):
        read_source(Source(sql=relative), None, project)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database holding t(id), dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    name = f"retrain_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    driver_url = url.replace("postgresql://", "postgresql+psycopg2://")
    engine = create_engine(driver_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t AS SELECT generate_series(1, 5) AS id"))
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_stacked_postgres_statements_are_refused_and_drop_nothing(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def rows() -> int:
        sql = SqlQuery(url=pg_database, query="SELECT id FROM t")
        return len(read_source(Source(sql=sql), None, Path("/")))

    with pytest.raises(DataConfigError, match="exactly one statement"):
        read_source(Source(sql=SqlQuery(url=pg_database, query=STACKED)), None, Path("/"))
    writes = ["WITH d AS (DELETE FROM t RETURNING id) SELECT id FROM d",
              "SELECT id INTO copy_of_t FROM t"]  # fmt: skip
    for query in writes:  # one statement that writes: the read-only transaction refuses it
        with pytest.raises(SourceUnavailable, match="read-only"):
            read_source(Source(sql=SqlQuery(url=pg_database, query=query)), None, Path("/"))
    monkeypatch.setattr("retrain_core.data.sql.statement_problem", lambda query: None)
    with pytest.raises(SourceUnavailable):  # past the text check, COMMIT opens no writable one
        read_source(Source(sql=SqlQuery(url=pg_database, query=STACKED)), None, Path("/"))
    assert rows() == 5


@pytest.mark.integration  # waits out a real query timeout
def test_a_query_that_never_ends_is_stopped(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retrain_core.data.sql.QUERY_TIMEOUT_SECONDS", 1)
    forever = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    with pytest.raises(SourceUnavailable, match="interrupted"):
        read_source(Source(sql=SqlQuery(url=sqlite_url, query=forever)), None, Path("/"))


@pytest.mark.integration  # waits out a real query timeout on PostgreSQL
@pytest.mark.postgres
def test_a_postgres_query_that_never_ends_is_stopped(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retrain_core.data.sql.QUERY_TIMEOUT_SECONDS", 1)
    sql = SqlQuery(url=pg_database, query="SELECT pg_sleep(600)")
    with pytest.raises(SourceUnavailable, match="timeout"):
        read_source(Source(sql=sql), None, Path("/"))


def test_a_sqlite_file_linked_from_outside_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "link.db").symlink_to(tmp_path / "warehouse.db")
    sql = SqlQuery(url="sqlite:///link.db", query="SELECT id FROM t")
    with pytest.raises(DataConfigError, match="resolves outside"):
        read_source(Source(sql=sql), None, project)
    (project / "inside.db").write_bytes((tmp_path / "warehouse.db").read_bytes())
    inside = SqlQuery(url="sqlite:///inside.db", query="SELECT id FROM t")
    assert len(read_source(Source(sql=inside), None, project)) == 5


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql://u:pa@ss@host/db", "pa@ss"),
        ("postgresql://u:p/w@h/d?sslmode=require", "p/w"),
        ("https://h/x.csv?X-Amz-Signature=abc123&X-Amz-Security-Token=tok456", "abc123"),
    ],
)
def test_descriptions_mask_every_form_of_password(url: str, password: str) -> None:
    shown = (
        describe(Source(path=url))
        if url.startswith("https")
        else describe(Source(sql=SqlQuery(url=url, query="SELECT 1")))
    )
    assert password not in shown and "tok456" not in shown and "***" in shown


def test_each_source_kind_reads_describes_and_names_its_watermark(
    tmp_path: Path, sqlite_url: str
) -> None:
    write(sample(0, 3), tmp_path / "b" / "one.csv")
    glob, one = typed(Source(path="b/*.csv"), tmp_path), typed(Source(path="b/one.csv"), tmp_path)
    sql = typed(Source(sql=SqlQuery(url=sqlite_url, query="SELECT id FROM t")), tmp_path)
    assert (type(glob), type(sql)) == (FileSource, SqlSource) and set(SOURCE_KINDS) == {
        "files",
        "sql",
    }
    assert glob.read(["id"])["id"].tolist() == [0, 1, 2]
    assert sql.read(["id"], {"watermark": None})["id"].tolist() == [0, 1, 2, 3, 4]
    assert [glob.watermark_kind("ts"), one.watermark_kind("ts"), one.watermark_kind(None)] == [
        "files",
        "timestamp",
        "files",
    ]
    assert sql.watermark_kind("ts") == "timestamp"
    remote = typed(Source(path="s3://user:hunter2@bucket/x.parquet"))
    secret = SqlQuery(url="postgresql://postgres:hunter2@db/x", query="SELECT 1")
    assert "hunter2" not in remote.describe() + typed(Source(sql=secret)).describe()


def test_a_label_source_is_read_as_a_window_with_every_field_it_has(tmp_path: Path) -> None:
    write(sample(0, 3), tmp_path / "labels" / "l.csv").rename(tmp_path / "labels" / "l.data")
    labels = LabelSource(path="labels/*.data", format="csv", join_on="id")
    loaded = load_window(labels, ["id"], tmp_path)  # its own format: nothing copied, nothing lost
    assert loaded.frame["id"].tolist() == [0, 1, 2] and loaded.window == "since_last_check"
