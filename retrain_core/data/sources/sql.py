"""The `sql` source kind: one read-only SELECT on an SQLAlchemy URL (PostgreSQL or SQLite).

A policy writes ``{sql: {url_env: WAREHOUSE_URL, query: "SELECT ..."}}``. Its watermark is the
newest timestamp judged, bound into the query as ``:watermark`` (see `retrain_core.data.sql`,
which runs it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from retrain_core.data.files import roots_for
from retrain_core.data.sql import CHUNK_ROWS, connected, describe_sql, iter_sql, read_sql
from retrain_core.policy.base import ParamValue, Strict
from retrain_core.policy.finding import Finding
from retrain_core.policy.locations import BLOCK_PATTERN, ENV_PATTERN, Roots
from retrain_core.policy.source_kinds import SourceKind
from retrain_core.policy.sqlcheck import statement_problem, url_problem

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.base.settings import Settings
    from retrain_core.policy.yamlio import Path_


class SqlQuery(Strict):
    """A SQL query on an SQLAlchemy URL, with bound parameters (never string formatting)."""

    url: str | None = Field(
        None,
        description="SQLAlchemy URL (postgresql or sqlite) without a password or secret "
        "parameters; an SQLite file must be inside the project or data_roots.",
    )
    url_env: str | None = Field(
        None,
        pattern=ENV_PATTERN,
        description="Environment variable holding the whole SQLAlchemy URL, credentials "
        "included (read when the query runs, never printed).",
    )
    url_secret: str | None = Field(
        None,
        pattern=BLOCK_PATTERN,
        description="Prefect Secret block holding the whole SQLAlchemy URL, credentials included "
        "(loaded when the query runs, never printed).",
    )
    query: str = Field(
        description="One SELECT (or WITH) statement, run read-only; use :name placeholders "
        "for params."
    )
    params: dict[str, ParamValue] = Field(default_factory=dict, description="Bound parameters.")

    @model_validator(mode="after")
    def _one_url(self) -> SqlQuery:
        given = [self.url, self.url_env, self.url_secret]
        if sum(value is not None for value in given) != 1:
            raise ValueError("set exactly one of url, url_env or url_secret")
        return self


class SqlSettings(Strict):
    """The `sql` key of a source."""

    sql: SqlQuery = Field(description="A SQL query instead of files.")


@dataclass(frozen=True)
class SqlSource:
    """A policy's query (`sql`), run from the project `root`."""

    settings: SqlSettings
    root: Path

    @property
    def query(self) -> SqlQuery:
        """The policy's query settings."""
        return self.settings.sql

    def read(self, columns: Sequence[str] | None, params: dict | None = None) -> pd.DataFrame:
        """The query's rows with only `columns`; `params` bind over the policy's parameters."""
        return read_sql(self.query, columns, params, roots_for(self.root))

    def stream(
        self, columns: Sequence[str] | None, params: dict | None = None, rows: int = CHUNK_ROWS
    ) -> Iterator[pd.DataFrame]:
        """`read` a chunk of `rows` rows at a time (`data.sql.iter_sql`): bounded memory."""
        return iter_sql(self.query, columns, params, roots_for(self.root), rows)

    def connect(self) -> AbstractContextManager[Any]:
        """A read-only connection to the database (`data.sql.connected`), for work pushed into
        it; errors inside become `SourceUnavailable` without the password or row values."""
        return connected(self.query, roots_for(self.root))

    def describe(self) -> str:
        """The database without its password, or the variable or secret holding its URL."""
        return describe_sql(self.query)

    def watermark_kind(self, timestamp: str | None) -> Literal["files", "timestamp"]:
        """Always the newest timestamp (rows of a query have no file to remember)."""
        return "timestamp"


def sql_findings(source: dict[str, Any], settings: Settings, path: Path_) -> list[Finding]:
    """A URL with credentials, of another dialect or outside the data roots; not one SELECT."""
    sql = source.get("sql")
    if not isinstance(sql, dict):
        return []
    findings = []
    url, query = sql.get("url"), sql.get("query")
    problem = url_problem(url, Roots.of(settings)) if isinstance(url, str) else None
    if problem:
        findings.append(Finding((*path, "sql", "url"), problem))
    problem = statement_problem(query) if isinstance(query, str) else None
    if problem:
        findings.append(Finding((*path, "sql", "query"), problem))
    return findings


SOURCE = SourceKind(
    key="sql",
    model=SqlSettings,
    reader=SqlSource,
    label="SQL",
    findings=sql_findings,
    order=20,
    example={"sql": {"url_env": "WAREHOUSE_URL", "query": "SELECT * FROM churn"}},
)
