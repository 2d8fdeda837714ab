"""Read a policy source: files, globs and fsspec URLs of CSV or Parquet through pyarrow, or SQL.

Each kind of source is a class (`FileSource`, `SqlSource`; `typed` picks one by the policy
source's `kind`) with `read(columns, params)`, `describe()` (credentials masked) and its
`watermark_kind`: what tells the monitor which rows are new. The class holds the policy's own
source object, so nothing is copied field by field.

Only the columns asked for are read (pyarrow column projection for Parquet, `include_columns` for
CSV). A column the file does not have is simply absent from the frame, so the monitor can name it
as a bad-data problem; an unreachable source raises `SourceUnavailable`. pandas, pyarrow, fsspec
and SQLAlchemy are imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from retrain_core.data.errors import BadData, DataConfigError, NoFiles, SourceUnavailable
from retrain_core.data.sql import describe_sql, read_sql
from retrain_core.policy.locations import Roots, credential_problem, mask
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


WatermarkKind = Literal["files", "timestamp"]


@dataclass(frozen=True)
class FileSource:
    """A path, glob or fsspec URL of CSV or Parquet files (`path`, `format`).

    Its watermark is the set of judged files for a glob, or a single file without
    `data.timestamp`; the newest timestamp judged for a single file with one.
    """

    spec: Source
    root: Path
    kind: ClassVar[str] = "files"
    label: ClassVar[str] = "file"

    def read(self, columns: Sequence[str] | None, params: dict | None = None) -> pd.DataFrame:
        """Every row with only `columns` (all when None); files take no parameters."""
        files = self.files()
        return tables_to_frame(read_files(files, files.keys, columns), columns)

    def files(self) -> FileSet:
        """The files the path names (inside the project or the data roots)."""
        return list_files(self.spec, self.root)

    def describe(self) -> str:
        """The path, any credentials in it masked."""
        return mask(str(self.spec.path))

    def watermark_kind(self, timestamp: str | None) -> WatermarkKind:
        """files for a glob or an undated file, timestamp for a single dated file."""
        return "files" if has_wildcard(str(self.spec.path)) or timestamp is None else "timestamp"


@dataclass(frozen=True)
class SqlSource:
    """One read-only SELECT on an SQLAlchemy URL (`sql`); its watermark is the newest timestamp
    judged, bound into the query as ``:watermark``."""

    spec: Source
    root: Path
    kind: ClassVar[str] = "sql"
    label: ClassVar[str] = "SQL"

    @property
    def query(self) -> SqlQuery:
        """The policy's query settings."""
        assert self.spec.sql is not None, "a SQL source has its query"
        return self.spec.sql

    def read(self, columns: Sequence[str] | None, params: dict | None = None) -> pd.DataFrame:
        """The query's rows with only `columns`; `params` bind over the policy's parameters."""
        return read_sql(self.query, columns, params, roots_for(self.root))

    def describe(self) -> str:
        """The database without its password, or the variable or secret holding its URL."""
        return describe_sql(self.query)

    def watermark_kind(self, timestamp: str | None) -> WatermarkKind:
        """Always the newest timestamp (rows of a query have no file to remember)."""
        return "timestamp"


TypedSource = FileSource | SqlSource
SOURCE_KINDS: dict[str, type[FileSource] | type[SqlSource]] = {
    cls.kind: cls for cls in (FileSource, SqlSource)
}


def typed(source: Source, root: Path | None = None) -> TypedSource:
    """The policy source as its kind's class; `root` is where relative paths start."""
    return SOURCE_KINDS[source.kind](source, root if root is not None else Path())


def describe(source: Source) -> str:
    """A short, password-free description of a source for logs and the ledger."""
    return typed(source).describe()


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
    shown = mask(str(source.path))
    raise DataConfigError(f"{shown}: cannot tell the format; set format: csv or parquet")


def list_files(source: Source, root: Path) -> FileSet:
    """The files of a path source: a relative path is taken from the project root.

    The path must lie inside `root` or the project's data_roots; every file found is checked
    again after resolving symlinks, before anything is read.
    """
    pattern = str(source.path)
    fmt = file_format(source)
    roots = roots_for(root)
    fs, stripped = _location(pattern, roots)
    is_glob = has_wildcard(stripped)
    try:
        paths = _glob(fs, stripped) if is_glob else _single(fs, stripped)
    except (OSError, RuntimeError) as exc:
        raise SourceUnavailable(f"{mask(pattern)}: cannot list files: {exc}") from exc
    if not paths and is_glob:
        raise NoFiles(f"no file matches {mask(pattern)}")
    if not paths:
        raise SourceUnavailable(f"file not found: {mask(pattern)}")
    _confine(pattern, paths, roots)
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


def roots_for(root: Path) -> Roots:
    """Where reads from `root` may go: `root` itself plus the project's data_roots."""
    from retrain_core.base.settings import load_settings

    return Roots.of(load_settings(root), root)


def _location(pattern: str, roots: Roots) -> tuple[Any, str]:
    """The filesystem and path to list, once the pattern is known to stay inside the roots."""
    import fsspec

    problem = credential_problem(pattern) or roots.path_problem(pattern)
    if problem:
        raise DataConfigError(f"{mask(pattern)}: {problem}")
    try:
        return fsspec.core.url_to_fs(_target(pattern, roots))
    except (ImportError, ValueError) as exc:
        reason = type(exc).__name__
        raise DataConfigError(f"{mask(pattern)}: unsupported location ({reason})") from None


def _target(pattern: str, roots: Roots) -> str:
    """What to open: a URL as written, a local path absolute and normalised (no `..` left)."""
    return pattern if is_remote(pattern) else roots.local_path(pattern)


def is_remote(pattern: str) -> bool:
    """True for a URL other than file:// (s3://, memory://, ...)."""
    scheme = pattern.partition("://")[0].lower() if "://" in pattern else ""
    return bool(scheme) and scheme not in ("file", "local")


def _confine(pattern: str, paths: Sequence[str], roots: Roots) -> None:
    """Every file found must still be inside the roots (symlinks resolved for local files)."""
    if is_remote(pattern):
        scheme = pattern.partition("://")[0]
        urls = [p if "://" in p else f"{scheme}://{p.lstrip('/')}" for p in paths]
        outside = [url for url in urls if not roots.url_allowed(url)]
    else:
        outside = [p for p in paths if not roots.local_allowed(p, real=True)]
    if outside:
        raise DataConfigError(
            f"{mask(pattern)}: {len(outside)} file(s) resolve outside the project and the "
            f"data_roots (a symlink?), e.g. {mask(outside[0])}; nothing was read"
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


def read_source(
    source: Source, columns: Sequence[str] | None, root: Path, params: dict | None = None
) -> pd.DataFrame:
    """Every row of a source with only `columns` (all when None); `params` bind into SQL only."""
    return typed(source, root).read(columns, params)


def has_wildcard(path: str) -> bool:
    """True when the path is a glob (holds ``*``, ``?`` or ``[``)."""
    return any(char in path for char in GLOB_CHARS)


def project(frame: pd.DataFrame, columns: Sequence[str] | None) -> pd.DataFrame:
    """The wanted columns the frame has, in the wanted order (all columns when None)."""
    if columns is None:
        return frame
    return frame[[column for column in unique(columns) if column in frame.columns]]


def unique(columns: Iterable[str]) -> list[str]:
    """Column names without repeats, first occurrence first."""
    return list(dict.fromkeys(columns))


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
        raise BadData(f"{path}: cannot read as {files.format}: {_reason(exc)}") from None
    except OSError as exc:
        raise SourceUnavailable(f"{path}: {exc}") from exc


# Parser messages worth keeping, cut before any quoted value: an error never shows file contents.
_SAFE_REASONS = re.compile(
    r"Expected \d+ columns, got \d+|Empty CSV file|CSV conversion error to \w+|"
    r"magic bytes not found in footer|smaller than the minimum file footer|"
    r"Couldn't deserialize thrift|can't decode byte 0x[0-9a-f]+ in position \d+|"
    r"line contains NUL|field larger than field limit \(\d+\)|"
    r"Parquet file size is 0 bytes"
)


def _reason(exc: Exception) -> str:
    """Why a file did not parse, in words that cannot hold its contents."""
    match = _SAFE_REASONS.search(str(exc))
    return match.group(0) if match else f"not a valid file ({type(exc).__name__})"


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
