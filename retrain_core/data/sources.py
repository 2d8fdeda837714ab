"""Read a policy source: files, globs and fsspec URLs of CSV or Parquet through pyarrow, or SQL.

Only the columns asked for are read (pyarrow column projection for Parquet, `include_columns` for
CSV). A column the file does not have is simply absent from the frame, so the monitor can name it
as a bad-data problem; an unreachable source raises `SourceUnavailable`. pandas, pyarrow, fsspec
and SQLAlchemy are imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.data.errors import BadData, DataConfigError, NoFiles, SourceUnavailable
from retrain_core.policy.schema import Source, SqlQuery

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

GLOB_CHARS = "*?["
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


@dataclass(frozen=True)
class FileSet:
    """The files a path or glob names, sorted by key (the path below the glob's fixed folder)."""

    fs: Any
    pattern: str
    format: str
    paths: tuple[str, ...]
    keys: tuple[str, ...]
    is_glob: bool

    @cached_property
    def _paths_by_key(self) -> dict[str, str]:
        return dict(zip(self.keys, self.paths, strict=True))

    def path_of(self, key: str) -> str:
        """The filesystem path of the file with this key."""
        return self._paths_by_key[key]


def describe(source: Source) -> str:
    """A short, password-free description of a source for logs and the ledger."""
    return str(source.path) if source.sql is None else _describe_sql(source.sql)


def _describe_sql(sql: SqlQuery) -> str:
    if sql.url_env is not None:
        return f"sql on ${sql.url_env}"
    from sqlalchemy.engine import make_url

    try:
        return f"sql on {make_url(str(sql.url)).render_as_string(hide_password=True)}"
    except Exception:  # a description must never fail
        return "sql on <unparseable url>"


def file_format(source: Source) -> str:
    """csv or parquet: the source's `format`, else the path's extension."""
    if source.format is not None:
        return source.format
    name = str(source.path).lower()
    for suffix in COMPRESSION_SUFFIXES:
        name = name.removesuffix(suffix)
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith((".csv", ".txt")):
        return "csv"
    raise DataConfigError(f"{source.path}: cannot tell the format; set format: csv or parquet")


def list_files(source: Source, root: Path) -> FileSet:
    """The files of a path source: a relative path is taken from the project root."""
    import fsspec

    pattern = str(source.path)
    fmt = file_format(source)
    try:
        fs, stripped = fsspec.core.url_to_fs(_absolute(pattern, root))
    except (ImportError, ValueError) as exc:
        raise DataConfigError(f"{pattern}: unsupported location: {exc}") from exc
    is_glob = has_wildcard(stripped)
    try:
        paths = _glob(fs, stripped) if is_glob else _single(fs, stripped)
    except (OSError, RuntimeError) as exc:
        raise SourceUnavailable(f"{pattern}: cannot list files: {exc}") from exc
    if not paths and is_glob:
        raise NoFiles(f"no file matches {pattern}")
    if not paths:
        raise SourceUnavailable(f"file not found: {pattern}")
    base = _fixed_folder(stripped) if is_glob else None
    keys = [_key(path, base) for path in paths]
    ordered = sorted(zip(keys, paths, strict=True))
    return FileSet(
        fs=fs,
        pattern=pattern,
        format=fmt,
        paths=tuple(path for _, path in ordered),
        keys=tuple(key for key, _ in ordered),
        is_glob=is_glob,
    )


def read_files(
    files: FileSet, keys: Iterable[str], columns: Sequence[str] | None
) -> list[pa.Table]:
    """One pyarrow table per file, in the order of `keys`, holding only the wanted columns."""
    wanted = unique(columns) if columns is not None else None
    return [_read_one(files, files.path_of(key), wanted) for key in keys]


def tables_to_frame(tables: Sequence[pa.Table], columns: Sequence[str] | None) -> pd.DataFrame:
    """Concatenate per-file tables (types widened where safe) into one DataFrame."""
    import pandas as pd
    import pyarrow as pa

    if not tables:
        return pd.DataFrame(columns=unique(columns or []))
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise BadData(f"the files do not share column types: {exc}") from exc
    frame = table.replace_schema_metadata(None).to_pandas()  # an index is a column like others
    hidden = [name for name in frame.columns if str(name).startswith("__index_level_")]
    return project(frame.drop(columns=hidden), columns)


def read_sql(
    sql: SqlQuery, columns: Sequence[str] | None, params: dict | None = None
) -> pd.DataFrame:
    """Run the query with bound parameters (`sql.params`, then `params`) and keep `columns`.

    Values are always bound, never formatted into the query. Runtime `params` (such as the
    window's ``:watermark``) override the policy's; only the names the query uses are sent, and a
    name it uses without a value is a `DataConfigError`. The engine is disposed after the read.
    PostgreSQL sessions run in UTC, so naive timestamp columns compare as UTC like everywhere else.
    """
    import pandas as pd
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text

    statement = text(sql.query)
    values = bind_values(statement, {**sql.params, **(params or {})})
    engine = _engine(sql)
    where = _describe_sql(sql)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET TIME ZONE 'UTC'")
            result = connection.execute(statement, values)
            rows = result.fetchall()
            names = list(result.keys())
    except sa_exc.SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise SourceUnavailable(f"{where}: {str(reason).strip()}") from exc
    finally:
        engine.dispose()
    frame = pd.DataFrame.from_records(rows, columns=names, coerce_float=True)
    return project(frame, columns)


def read_source(
    source: Source, columns: Sequence[str] | None, root: Path, params: dict | None = None
) -> pd.DataFrame:
    """Every row of a source with only `columns` (all when None); `params` bind into SQL only."""
    if source.sql is not None:
        return read_sql(source.sql, columns, params)
    files = list_files(source, root)
    return tables_to_frame(read_files(files, files.keys, columns), columns)


def has_wildcard(path: str) -> bool:
    """True when the path is a glob (holds ``*``, ``?`` or ``[``)."""
    return any(char in path for char in GLOB_CHARS)


def bind_values(statement: Any, given: dict[str, Any]) -> dict[str, Any]:
    """The values for the :names a text() statement uses; a used name without a value fails."""
    names = set(statement.compile().params)
    missing = sorted(names - set(given))
    if missing:
        raise DataConfigError(f"the query uses :{', :'.join(missing)} but no value is given")
    return {name: value for name, value in given.items() if name in names}


def project(frame: pd.DataFrame, columns: Sequence[str] | None) -> pd.DataFrame:
    """The wanted columns the frame has, in the wanted order (all columns when None)."""
    if columns is None:
        return frame
    return frame[[column for column in unique(columns) if column in frame.columns]]


def unique(columns: Iterable[str]) -> list[str]:
    """Column names without repeats, first occurrence first."""
    return list(dict.fromkeys(columns))


def _absolute(pattern: str, root: Path) -> str:
    if "://" in pattern or os.path.isabs(os.path.expanduser(pattern)):
        return os.path.expanduser(pattern)
    return str(root / pattern)


def _glob(fs: Any, pattern: str) -> list[str]:
    found = fs.glob(pattern, detail=True)
    return [path for path, info in found.items() if info.get("type", "file") == "file"]


def _single(fs: Any, path: str) -> list[str]:
    return [path] if fs.isfile(path) else []


def _fixed_folder(pattern: str) -> str:
    """The folder part of a glob before its first wildcard: keys are relative to it."""
    first = min(pattern.index(char) for char in GLOB_CHARS if char in pattern)
    return pattern[:first].rpartition("/")[0]


def _key(path: str, base: str | None) -> str:
    """A glob's file is keyed below the fixed folder; a single file by its name."""
    if base is None:
        return path.rpartition("/")[2]
    return path[len(base) :].lstrip("/") if path.startswith(base) else path


def _read_one(files: FileSet, path: str, wanted: list[str] | None) -> pa.Table:
    import pyarrow as pa

    try:
        if files.format == "parquet":
            return _read_parquet(files.fs, path, wanted)
        return _read_csv(files.fs, path, wanted)
    except FileNotFoundError as exc:
        raise SourceUnavailable(f"{path}: file disappeared while reading") from exc
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, csv.Error) as exc:
        raise BadData(f"{path}: cannot read as {files.format}: {exc}") from exc
    except OSError as exc:
        raise SourceUnavailable(f"{path}: {exc}") from exc


def _read_parquet(fs: Any, path: str, wanted: list[str] | None) -> pa.Table:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path, filesystem=fs) as parquet:
        names = parquet.schema_arrow.names
        present = None if wanted is None else [name for name in wanted if name in names]
        return parquet.read(columns=present)


def _read_csv(fs: Any, path: str, wanted: list[str] | None) -> pa.Table:
    import pyarrow.csv as pacsv

    with fs.open(path, "rb", compression="infer") as handle:
        header = next(csv.reader([handle.readline().decode("utf-8-sig")]), [])
        handle.seek(0)
        if wanted is None:
            return pacsv.read_csv(handle)
        present = [name for name in wanted if name in header]
        if not present:
            return pacsv.read_csv(handle).select([])
        options = pacsv.ConvertOptions(include_columns=present)
        return pacsv.read_csv(handle, convert_options=options)


def _engine(sql: SqlQuery) -> Any:
    """A pool-less engine for one read, from the URL or the variable naming it."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.pool import NullPool

    url = sql.url if sql.url is not None else os.environ.get(str(sql.url_env))
    if not url:
        raise SourceUnavailable(f"environment variable {sql.url_env} (the database URL) is not set")
    try:
        return create_engine(_with_installed_driver(make_url(url)), poolclass=NullPool)
    except (ArgumentError, ImportError) as exc:
        shown = f"${sql.url_env}" if sql.url_env else "url"
        raise DataConfigError(f"sql {shown}: not a usable SQLAlchemy URL: {exc}") from exc


def _with_installed_driver(url: Any) -> Any:
    """``postgresql://`` means psycopg 3 in SQLAlchemy 2.1: use psycopg2 when only it is here."""
    import importlib.util

    if url.drivername != "postgresql" or importlib.util.find_spec("psycopg") is not None:
        return url
    if importlib.util.find_spec("psycopg2") is None:
        return url
    return url.set(drivername="postgresql+psycopg2")
