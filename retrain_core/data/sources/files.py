"""The `files` source kind: a path, glob or fsspec URL of CSV or Parquet files.

A policy writes ``{path: data/batches/*.parquet}`` (and `format` when the extension does not say
it). Each file is read and judged on its own (see `retrain_core.data.batches`). Its watermark is
the set of judged files for a glob, or a single file without `data.timestamp`; the newest
timestamp judged for a single file with one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from retrain_core.data.errors import DataConfigError, SourceUnavailable
from retrain_core.data.files import FileSet, has_wildcard, list_paths, read_files, tables_to_frame
from retrain_core.data.paths import missing_path
from retrain_core.policy.base import Strict
from retrain_core.policy.finding import Finding
from retrain_core.policy.locations import Roots, credential_problem, mask
from retrain_core.policy.source_kinds import SourceKind

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.base.settings import Settings
    from retrain_core.policy.sources import Source
    from retrain_core.policy.yamlio import Path_

COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


class FileSettings(Strict):
    """A path or glob (local or fsspec URL) of CSV or Parquet files."""

    path: str = Field(
        description="File, glob or fsspec URL, e.g. data/batches/*.parquet or s3://b/x.csv."
    )
    format: Literal["csv", "parquet"] | None = Field(
        None, description="File format; default from the file extension."
    )


@dataclass(frozen=True)
class FileSource:
    """The files a policy source names (`path`, `format`), read from the project `root`."""

    settings: FileSettings
    root: Path

    def read(self, columns: Sequence[str] | None, params: dict | None = None) -> pd.DataFrame:
        """Every row with only `columns` (all when None); files take no parameters."""
        files = self.files()
        return tables_to_frame(read_files(files, files.keys, columns), columns)

    def files(self) -> FileSet:
        """The files the path names (inside the project or the data roots); when there are none
        and the path has a typo, the error names the path it may mean."""
        try:
            return list_paths(self.settings.path, file_format(self.settings), self.root)
        except SourceUnavailable as exc:
            missing = missing_path(self.settings.path, self.root)
            if missing is None or missing.suggestion is None:
                raise
            raise type(exc)(f"{exc}: {missing.message()}") from exc

    def describe(self) -> str:
        """The path, any credentials in it masked."""
        return mask(self.settings.path)

    def watermark_kind(self, timestamp: str | None) -> Literal["files", "timestamp"]:
        """files for a glob or an undated file, timestamp for a single dated file."""
        return "files" if has_wildcard(self.settings.path) or timestamp is None else "timestamp"


def file_format(settings: FileSettings) -> str:
    """csv or parquet: the source's `format`, else the path's extension."""
    if settings.format is not None:
        return settings.format
    name = settings.path.lower()
    for suffix in COMPRESSION_SUFFIXES:
        name = name.removesuffix(suffix)
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith((".csv", ".txt")):
        return "csv"
    shown = mask(settings.path)
    raise DataConfigError(f"{shown}: cannot tell the format; set format: csv or parquet")


def list_files(source: Source, root: Path) -> FileSet:
    """The files of a policy source of this kind."""
    settings = source.settings
    assert isinstance(settings, FileSettings), f"a {source.kind} source has no files"
    return FileSource(settings, root).files()


def path_findings(source: dict[str, Any], settings: Settings, path: Path_) -> list[Finding]:
    """A path outside the project and the data roots, or with credentials in it."""
    value = source.get("path")
    if not isinstance(value, str):
        return []
    problem = credential_problem(value) or Roots.of(settings).path_problem(value)
    return [Finding((*path, "path"), problem)] if problem else []


SOURCE = SourceKind(
    key="files",
    model=FileSettings,
    reader=FileSource,
    label="file",
    lists_files=True,
    findings=path_findings,
    order=10,
    example={"path": "data/churn/batches/*.parquet"},
)
