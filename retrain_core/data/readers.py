"""A policy source as its kind's reader: read its rows, describe it, tell what is new in it.

Each source kind (`retrain_core.data.sources`) gives a reader for its settings; `typed` picks it
by the source's kind, so nothing here knows the kinds. A reader has `read(columns, params)`,
`describe()` (credentials masked) and `watermark_kind(timestamp)`: what tells the monitor which
rows are new. A kind that `lists_files` also has `files()`, so its files are judged one by one;
a kind that can `stream(columns, params, rows)` (SQL) is read in chunks where memory must stay
bounded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, cast, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.data.files import FileSet
    from retrain_core.policy.sources import Source

WatermarkKind = Literal["files", "timestamp"]


class SourceReader(Protocol):
    """What every source kind's reader does."""

    def read(self, columns: Sequence[str] | None, params: dict | None = None) -> pd.DataFrame:
        """Every row with only `columns` (all when None); `params` bind into a query."""
        ...

    def describe(self) -> str:
        """A short, password-free description for logs and the ledger."""
        ...

    def watermark_kind(self, timestamp: str | None) -> WatermarkKind:
        """files: the watermark is the set of judged files; timestamp: the newest one judged."""
        ...


@runtime_checkable
class StreamingReader(SourceReader, Protocol):
    """The reader of a kind whose rows can be read a chunk at a time."""

    def stream(
        self, columns: Sequence[str] | None, params: dict | None = None, rows: int = ...
    ) -> Iterator[pd.DataFrame]:
        """`read`, `rows` rows at a time; at least one frame (empty when there are no rows)."""
        ...


class FileReader(SourceReader, Protocol):
    """The reader of a kind that `lists_files`: its rows come in files judged one by one."""

    def files(self) -> FileSet:
        """The files the source names now."""
        ...


def typed(source: Source, root: Path | None = None) -> SourceReader:
    """The policy source as its kind's reader; `root` is where relative paths start."""
    reader: SourceReader = source.source_kind.reader(
        source.settings, root if root is not None else Path()
    )
    return reader


def file_reader(source: Source, root: Path) -> FileReader:
    """The reader of a source whose kind lists files."""
    assert source.source_kind.lists_files, f"a {source.kind} source has no files"
    return cast("FileReader", typed(source, root))


def describe(source: Source) -> str:
    """A short, password-free description of a source for logs and the ledger."""
    return typed(source).describe()


def read_source(
    source: Source, columns: Sequence[str] | None, root: Path, params: dict | None = None
) -> pd.DataFrame:
    """Every row of a source with only `columns` (all when None); `params` bind into SQL only."""
    return typed(source, root).read(columns, params)
