"""Files of CSV or Parquet through pyarrow: list a path, glob or fsspec URL, read each file.

What every source kind whose rows come in files shares (see `retrain_core.data.sources.files`):
a `FileSet` of the files a pattern names, sorted by key, confined to the project and the data
roots; `read_files` reads them one by one with only the wanted columns (pyarrow column projection
for Parquet, `include_columns` for CSV). A column a file does not have is simply absent from the
frame, so the monitor can name it as a bad-data problem; an unreachable location raises
`SourceUnavailable`. pyarrow and fsspec are imported inside the functions.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.data.errors import BadData, DataConfigError, NoFiles, SourceUnavailable
from retrain_core.data.frames import project, unique
from retrain_core.policy.locations import Roots, credential_problem, mask

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

GLOB_CHARS = "*?["
CHUNK_ROWS = 1 << 17  # rows per record batch when a file is streamed (`iter_file`)


@dataclass(frozen=True)
class FileSet:
    """The files a path or glob names, sorted by key (the path below the glob's fixed folder)."""

    fs: Any
    pattern: str
    format: str
    paths: tuple[str, ...]
    keys: tuple[str, ...]
    is_glob: bool
    stats: tuple[str, ...] = ()  # per file: its size and modification time, as listed

    @cached_property
    def _paths_by_key(self) -> dict[str, str]:
        return dict(zip(self.keys, self.paths, strict=True))

    def path_of(self, key: str) -> str:
        """The filesystem path of the file with this key."""
        return self._paths_by_key[key]

    def stat_of(self, key: str) -> str:
        """`size|modified` of the file with this key, as listed ("" when not listed)."""
        stats = dict(zip(self.keys, self.stats, strict=True)) if self.stats else {}
        return stats.get(key, "")


def list_paths(pattern: str, fmt: str, root: Path) -> FileSet:
    """The files a path, glob or URL names: a relative path is taken from the project root.

    The path must lie inside `root` or the project's data_roots; every file found is checked
    again after resolving symlinks, before anything is read.
    """
    roots = roots_for(root)
    fs, stripped = _location(pattern, roots)
    is_glob = has_wildcard(stripped)
    try:
        found = _glob(fs, stripped) if is_glob else _single(fs, stripped)
    except (OSError, RuntimeError) as exc:
        raise SourceUnavailable(f"{mask(pattern)}: cannot list files: {exc}") from exc
    paths = list(found)
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
        stats=tuple(_stat(found[path]) for _, path in ordered),
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
    files: FileSet, keys: Iterable[str], columns: Sequence[str] | None, categories: bool = False
) -> list[pa.Table]:
    """One pyarrow table per file, in the order of `keys`, holding only the wanted columns.

    With `categories`, Parquet text columns are read as dictionaries (pandas categoricals:
    their values decoded once per distinct value, not per row; a fraction of the memory)."""
    wanted = unique(columns) if columns is not None else None
    return [_read_one(files, files.path_of(key), wanted, categories) for key in keys]


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
    # Hidden index columns dropped and the wanted ones picked in Arrow, before pandas: selecting
    # columns of a frame copies every one of them (seconds for 1M rows of text).
    table = table.replace_schema_metadata(None)  # an index is a column like others
    names = [name for name in table.column_names if not str(name).startswith("__index_level_")]
    if len(set(table.column_names)) < len(table.column_names):  # repeated names: as pandas does
        frame = table.to_pandas()
        return project(frame.drop(columns=[n for n in frame.columns if n not in names]), columns)
    if columns is not None:
        names = [name for name in unique(columns) if name in set(names)]
    return table.select(names).to_pandas(split_blocks=True)  # no copy into 2-D blocks


def has_wildcard(path: str) -> bool:
    """True when the path is a glob (holds ``*``, ``?`` or ``[``)."""
    return any(char in path for char in GLOB_CHARS)


def _glob(fs: Any, pattern: str) -> dict[str, dict[str, Any]]:
    found = fs.glob(pattern, detail=True)
    return {path: info for path, info in found.items() if info.get("type", "file") == "file"}


def _single(fs: Any, path: str) -> dict[str, dict[str, Any]]:
    return {path: {}} if fs.isfile(path) else {}


def _stat(info: dict[str, Any]) -> str:
    """`size|modified` from a listing (mtime locally; LastModified or ETag in object stores)."""
    modified = next((info[k] for k in ("mtime", "LastModified", "last_modified", "ETag", "etag")
                     if info.get(k) is not None), "")  # fmt: skip
    return f"{info.get('size', '')}|{modified}" if info else ""


def _fixed_folder(pattern: str) -> str:
    """The folder part of a glob before its first wildcard: keys are relative to it."""
    first = min(pattern.index(char) for char in GLOB_CHARS if char in pattern)
    return pattern[:first].rpartition("/")[0]


def _key(path: str, base: str | None) -> str:
    """A glob's file is keyed below the fixed folder; a single file by its name."""
    if base is None:
        return path.rpartition("/")[2]
    return path[len(base) :].lstrip("/") if path.startswith(base) else path


def _read_one(
    files: FileSet, path: str, wanted: list[str] | None, categories: bool = False
) -> pa.Table:
    with _reading(files, path):
        if files.format == "parquet":
            return _read_parquet(files.fs, path, wanted, categories)
        return _read_csv(files.fs, path, wanted)


def iter_file(
    files: FileSet,
    path: str,
    wanted: list[str] | None,
    rows: int = CHUNK_ROWS,
    categories: bool = False,
) -> Iterator[pa.RecordBatch]:
    """One file's wanted columns in record batches of at most `rows` rows, never the whole file
    at once: Parquet by row group (split further to `rows`), CSV by pyarrow's streaming reader.
    The errors are `read_files`' (BadData, SourceUnavailable)."""
    with _reading(files, path):
        if files.format == "parquet":
            with _parquet(files.fs, path, categories) as parquet:
                names = parquet.schema_arrow.names
                present = None if wanted is None else [n for n in wanted if n in names]
                yield from parquet.iter_batches(batch_size=rows, columns=present)
            return
        import pyarrow.csv as pacsv

        with files.fs.open(path, "rb", compression="infer") as handle:
            header = next(csv.reader([handle.readline().decode("utf-8-sig")]), [])
            handle.seek(0)
            present = header if wanted is None else [n for n in wanted if n in header]
            options = pacsv.ConvertOptions(include_columns=present)
            block = pacsv.ReadOptions(block_size=max(1 << 20, rows * 64))
            yield from pacsv.open_csv(handle, read_options=block, convert_options=options)


@contextmanager
def _reading(files: FileSet, path: str) -> Iterator[None]:
    """A read's failures as the data's (BadData) or the source's (SourceUnavailable)."""
    import pyarrow as pa

    try:
        yield
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


def _read_parquet(
    fs: Any, path: str, wanted: list[str] | None, categories: bool = False
) -> pa.Table:
    with _parquet(fs, path, categories) as parquet:
        names = parquet.schema_arrow.names
        present = None if wanted is None else [name for name in wanted if name in names]
        return parquet.read(columns=present)


def _parquet(fs: Any, path: str, categories: bool) -> Any:
    """The Parquet file; with `categories`, its text columns read as dictionaries."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not categories:
        return pq.ParquetFile(path, filesystem=fs)
    with pq.ParquetFile(path, filesystem=fs) as parquet:
        schema = parquet.schema_arrow
    kinds = (pa.types.is_string, pa.types.is_large_string)
    text = [f.name for f in schema if any(kind(f.type) for kind in kinds)]
    return pq.ParquetFile(path, filesystem=fs, read_dictionary=text)


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
