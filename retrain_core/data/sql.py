"""Run a policy's SQL: one SELECT, bound parameters, a read-only transaction, quiet errors.

The statement and the URL are checked again right before the query is sent (a policy that skipped
`retrain validate` is held to the same rules); PostgreSQL runs it in `SET TRANSACTION READ ONLY`,
SQLite with `PRAGMA query_only`. An error names the database without its password and never quotes
the data: database messages are kept only for error classes that cannot carry row values. A query
running longer than QUERY_TIMEOUT_SECONDS is stopped.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from retrain_core.data.errors import DataConfigError, SourceUnavailable
from retrain_core.data.frames import project
from retrain_core.policy.locations import (
    SQL_DIALECTS,
    Roots,
    mask,
    password_of,
    sql_dialect,
    sqlite_database,
)
from retrain_core.policy.sqlcheck import statement_problem, url_problem

if TYPE_CHECKING:
    import pandas as pd

CHUNK_ROWS = 50_000  # rows per chunk when a query is streamed (`iter_sql`)
QUERY_TIMEOUT_SECONDS = 1800  # a query running longer is stopped: a source never stalls a check
# SQLSTATE classes whose messages name objects, never values: connection, auth, missing
# database/schema, syntax and missing tables or columns, read-only violations, resources.
_SAFE_SQLSTATE = ("08", "28", "3D", "3F", "42", "25", "53", "57")
_SAFE_SQLITE = re.compile(
    r"^(no such (table|column|function): [\w.\"]+|near \"[^\"]{0,40}\": syntax error|unable to "
    r"open database file|attempt to write a readonly database|database is locked|interrupted)"
)


class Query(Protocol):
    """A query's settings (a policy's `retrain_core.data.sources.sql.SqlQuery`)."""

    @property
    def url(self) -> str | None: ...
    @property
    def url_env(self) -> str | None: ...
    @property
    def url_secret(self) -> str | None: ...
    @property
    def query(self) -> str: ...
    @property
    def params(self) -> dict[str, Any]: ...


def describe_sql(sql: Query) -> str:
    """`sql on <url without password>` or `sql on $VARIABLE`."""
    if sql.url_env is not None:
        return f"sql on ${sql.url_env}"
    if sql.url_secret is not None:
        return f"sql on secret {sql.url_secret}"
    return f"sql on {mask(str(sql.url))}"


def read_sql(
    sql: Query,
    columns: Sequence[str] | None,
    params: dict | None = None,
    roots: Roots | None = None,
) -> pd.DataFrame:
    """Run the query with bound parameters (`sql.params`, then `params`) and keep `columns`.

    Values are always bound, never formatted into the query. Runtime `params` (such as the
    window's ``:watermark``) override the policy's; only the names the query uses are sent, and a
    name it uses without a value is a `DataConfigError`. The engine is disposed after the read.
    PostgreSQL sessions run in UTC, so naive timestamp columns compare as UTC like everywhere else.
    """
    import pandas as pd

    statement = checked_statement(sql)
    values = bind_values(statement, {**sql.params, **(params or {})})
    with connected(sql, roots) as connection:
        result = connection.execute(statement, values)
        rows = result.fetchall()
        names = list(result.keys())
    frame = pd.DataFrame.from_records(rows, columns=names, coerce_float=True)
    return project(frame, columns)


def iter_sql(
    sql: Query,
    columns: Sequence[str] | None,
    params: dict | None = None,
    roots: Roots | None = None,
    rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """`read_sql` streamed: the query's rows `rows` at a time (a server-side cursor where the
    driver has one), each chunk a frame as `read_sql` builds it; at least one frame, empty when
    the query returns no rows, so the columns are known. One chunk is held at a time."""
    import pandas as pd

    statement = checked_statement(sql)
    values = bind_values(statement, {**sql.params, **(params or {})})
    with connected(sql, roots) as connection:
        streamed = connection.execution_options(stream_results=True, max_row_buffer=rows)
        result = streamed.execute(statement, values)
        names = list(result.keys())
        batch = result.fetchmany(rows)
        while True:
            frame = pd.DataFrame.from_records(batch, columns=names, coerce_float=True)
            yield project(frame, columns)
            batch = result.fetchmany(rows) if len(batch) == rows else []
            if not batch:
                break


def checked_statement(sql: Query, nested: bool = False) -> Any:
    """The policy's statement as a SQLAlchemy `text()`, checked again to be one SELECT; `nested`
    drops a final ';' and ends it with a newline, so it can stand inside parentheses (a trailing
    ``--`` comment cannot swallow the closing one)."""
    from sqlalchemy import text

    problem = statement_problem(sql.query)
    if problem:
        raise DataConfigError(f"{describe_sql(sql)}: {problem}")
    if not nested:
        return text(sql.query)
    body = sql.query.strip()
    return text((body[:-1] if body.endswith(";") else body) + "\n")


@contextmanager
def connected(sql: Query, roots: Roots | None = None) -> Iterator[Any]:
    """A read-only connection to the query's database: the URL checked as `retrain validate`
    checks it, a pool-less engine disposed afterwards, the session read-only, in UTC and under
    QUERY_TIMEOUT_SECONDS. A database error inside becomes `SourceUnavailable` in words that hold
    neither the password nor row values."""
    from sqlalchemy import exc as sa_exc

    url = _checked_url(sql, roots)
    engine = _engine(sql, url)
    try:
        with engine.connect() as connection:
            _read_only(connection)
            yield connection
    except sa_exc.SQLAlchemyError as exc:
        raise SourceUnavailable(f"{describe_sql(sql)}: {_reason(exc, url)}") from None
    finally:
        engine.dispose()


def bind_values(statement: Any, given: dict[str, Any]) -> dict[str, Any]:
    """The values for the :names a text() statement uses; a used name without a value fails."""
    names = set(statement.compile().params)
    missing = sorted(names - set(given))
    if missing:
        raise DataConfigError(f"the query uses :{', :'.join(missing)} but no value is given")
    return {name: value for name, value in given.items() if name in names}


def _checked_url(sql: Query, roots: Roots | None) -> str:
    """The URL to connect to, checked like `retrain validate` does; SQLite files made absolute."""
    url = sql.url or _operator_url(sql)
    roots = roots or Roots(project=os.getcwd(), folders=(os.getcwd(),), urls=())
    # the operator's own URL (url_env, url_secret) may hold credentials; its dialect must be known
    problem = url_problem(url, roots) if sql.url is not None else _dialect_problem(url)
    if problem:
        raise DataConfigError(f"{describe_sql(sql)}: {problem}")
    url = _absolute_sqlite(url, roots)
    database, _ = sqlite_database(url)
    local = database not in ("", ":memory:")
    if sql.url is not None and local and not roots.local_allowed(database, real=True):
        message = "the SQLite file resolves outside the project and the data_roots (a symlink?)"
        raise DataConfigError(f"{describe_sql(sql)}: {message}")
    return url


def _operator_url(sql: Query) -> str:
    """The URL kept outside the policy: an environment variable or a Prefect Secret block."""
    if sql.url_secret is not None:
        from prefect.blocks.system import Secret

        try:
            value = Secret.load(sql.url_secret).get()  # type: ignore[union-attr]
        except Exception as exc:  # missing block or unreachable API: the message holds no secret
            message = f"cannot load the Secret block {sql.url_secret}: {type(exc).__name__}"
            raise SourceUnavailable(message) from None
        if not isinstance(value, str) or not value:
            raise DataConfigError(f"the Secret block {sql.url_secret} does not hold a URL")
        return value
    url = os.environ.get(str(sql.url_env))
    if not url:
        raise SourceUnavailable(f"environment variable {sql.url_env} (the database URL) is not set")
    return url


def _dialect_problem(url: str) -> str | None:
    """Why a URL from the environment or a Secret block cannot be used, or None."""
    if sql_dialect(url) in SQL_DIALECTS:
        return None
    return f"unsupported database: use {' or '.join(SQL_DIALECTS)}"


def _absolute_sqlite(url: str, roots: Roots) -> str:
    """A relative SQLite file is relative to the project root, like every other path."""
    database, _ = sqlite_database(url)
    if sql_dialect(url) != "sqlite" or database in ("", ":memory:") or os.path.isabs(database):
        return url
    head = url[: url.index("://") + 4]  # sqlite:/// then the relative path
    return f"{head}{roots.local_path(database)}{url[len(head) + len(database) :]}"


def _read_only(connection: Any) -> None:
    """Make the connection's transaction read-only before the query runs."""
    dialect = connection.dialect.name
    if dialect == "postgresql":  # this transaction and, should one end, every later one
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        connection.exec_driver_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        connection.exec_driver_sql("SET TIME ZONE 'UTC'")
        connection.exec_driver_sql(f"SET statement_timeout = {QUERY_TIMEOUT_SECONDS * 1000}")
    elif dialect == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = ON")
        deadline = time.monotonic() + QUERY_TIMEOUT_SECONDS
        driver = connection.connection.driver_connection
        driver.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    else:
        raise DataConfigError(f"cannot make a {dialect} connection read-only")


def _reason(exc: Exception, url: str) -> str:
    """A database error in words that cannot hold row values or the URL's password."""
    original = getattr(exc, "orig", None) or exc
    kind = type(original).__name__
    code = getattr(original, "pgcode", None) or getattr(original, "sqlstate", None)
    first = str(original).strip().splitlines()[0] if str(original).strip() else ""
    if code and not str(code).startswith(_SAFE_SQLSTATE):
        return f"the query failed on the data ({kind}, SQLSTATE {code})"
    if code is None and not first.startswith("connection") and not _SAFE_SQLITE.match(first):
        return f"the query failed ({kind})"
    return _scrub(first, url)


def _scrub(message: str, url: str) -> str:
    """`message` with the URL and its password, if any, masked."""
    password = password_of(url)
    if password:
        message = message.replace(password, "***")
    return mask(message.replace(url, mask(url)))


def _engine(sql: Query, url: str) -> Any:
    """A pool-less engine for one read."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.pool import NullPool

    try:
        return create_engine(_with_installed_driver(make_url(url)), poolclass=NullPool)
    except (ArgumentError, ImportError, ValueError):
        raise DataConfigError(f"{describe_sql(sql)}: not a usable SQLAlchemy URL") from None


def _with_installed_driver(url: Any) -> Any:
    """``postgresql://`` means psycopg 3 in SQLAlchemy 2.1: use psycopg2 when only it is here."""
    import importlib.util

    if url.drivername != "postgresql" or importlib.util.find_spec("psycopg") is not None:
        return url
    if importlib.util.find_spec("psycopg2") is None:
        return url
    return url.set(drivername="postgresql+psycopg2")
