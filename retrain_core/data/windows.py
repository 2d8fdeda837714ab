"""Windows: the rows of a source that one check judges, and the watermark after judging them.

How `since_last_check` knows what is new (see `retrain_core.data.watermark`):

- a glob of files, or a single file without `data.timestamp`: the watermark is the set of file
  keys already judged; only new files are read. A single file's key carries a fingerprint of its
  size and modification time, and a glob's judged keys keep one with a hash of the bytes
  (`retrain_core.data.prints`), so a file overwritten in place is judged again;
- SQL, or a single file with `data.timestamp`: the watermark is the newest timestamp judged and
  the window is the rows after it. A query may use ``:watermark`` (bound, tz-aware UTC datetime:
  the previous watermark for `since_last_check`, the earliest datetime otherwise) to filter in
  the database; rows are filtered again in pandas, so the pushdown only saves work. Rows stamped
  after the check's time plus `data.future_tolerance` are left out (and counted) until their
  time comes, so the watermark never moves into the future.

Files are read one by one and judged by the caller's `Rules` (see `retrain_core.data.batches`):
a file that cannot be judged is set aside in `LoadedWindow.quarantined`, never part of the frame
and never added to the watermark; files whose keys are in `skip` (quarantined earlier) are not
read at all. The caller stores `LoadedWindow.watermark` (or `watermark_without(...)`, holding
back batches a blocked check did not judge) in the ledger once the window has been judged; a run
that fails before that reads the same rows again. Naive timestamps are taken as UTC, and rows
without a timestamp are left out of windows cut by time.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.base.durations import format_duration
from retrain_core.data.batches import (
    EARLIEST,
    Batch,
    Judged,
    Quarantined,
    Rules,
    concat,
    file_mark,
    judged_file,
    read_batches,
)
from retrain_core.data.errors import DataConfigError
from retrain_core.data.prints import fingerprints
from retrain_core.data.readers import (
    StreamingReader,
    describe,
    file_reader,
    read_source,
    typed,
)
from retrain_core.data.stamped import fresh_rows, newest_rows, pydatetime, timestamps
from retrain_core.data.watermark import Watermark
from retrain_core.policy.sources import CurrentSource, Source, Window

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, eq=False)
class LoadedWindow:
    """A window's rows with what the ledger records about it.

    `watermark` is the watermark to store after judging (None for the reference or a source with
    no way to tell new rows); `new_rows` counts rows the previous watermark had not seen (None when
    unknowable); `newest`/`oldest` are the window's timestamp bounds, tz-aware UTC or None.
    """

    frame: pd.DataFrame
    source: str
    window: str
    watermark: Watermark | None = None
    new_rows: int | None = None
    newest: datetime | None = None
    oldest: datetime | None = None
    files: tuple[str, ...] = ()
    batches: tuple[Batch, ...] = ()
    quarantined: tuple[Quarantined, ...] = ()
    previous: Watermark | None = None
    present: tuple[str, ...] = ()
    future: int = 0  # rows left out: stamped after the check's time plus the tolerance
    prints: dict[str, str] = field(default_factory=dict)  # fingerprints to record, by key
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # batch key: its frame rows

    def watermark_without(self, held_back: Collection[str]) -> Watermark | None:
        """The files watermark after judging, leaving out the batch keys in `held_back` (a
        rewritten one keeps its old fingerprint, so the next check judges it again)."""
        if self.previous is None or self.watermark is None or self.watermark.timestamp:
            return self.watermark
        judged = [b.key for b in self.batches if b.key not in held_back and b.digest]
        prints = {key: value for key, value in self.prints.items() if key not in held_back}
        return self.previous.after_files(self.present, judged, prints)

    @property
    def rows(self) -> int:
        """Number of rows in the window."""
        return len(self.frame)

    @property
    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """(oldest, newest) timestamp of the window."""
        return self.oldest, self.newest

    def summary(self) -> dict[str, str | int | None]:
        """A JSON-safe description for the ledger and the decision artifact."""
        return {
            "source": self.source,
            "window": self.window,
            "rows": self.rows,
            "new_rows": self.new_rows,
            "files": len(self.files),
            "oldest": self.oldest.isoformat() if self.oldest else None,
            "newest": self.newest.isoformat() if self.newest else None,
        }


@dataclass(frozen=True, eq=False)
class _Candidates:
    """Rows read before the window is cut, with the new-row count and the next watermark."""

    frame: pd.DataFrame
    new_rows: int | None
    watermark: Watermark | None
    files: tuple[str, ...] = ()
    judged: Judged | None = None
    previous: Watermark | None = None
    present: tuple[str, ...] = ()
    future: int = 0
    prints: dict[str, str] = field(default_factory=dict)
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)


def load_window(
    current: Source,
    columns: Sequence[str] | None,
    root: Path,
    timestamp: str | None = None,
    watermark: Watermark | None = None,
    skip: Collection[str] = (),
    rules: Rules | None = None,
    window: Window | None = None,
    keep_rows: int | None = None,
) -> LoadedWindow:
    """Load a window of a source (rows, new-row count, bounds) and the watermark after it.

    `window` defaults to the current source's own (since_last_check for any other source).
    Files whose watermark key is in `skip` (quarantined) are not read; each file read is judged
    by `rules` and set aside (`LoadedWindow.quarantined`) when it cannot be judged. With
    `keep_rows`, a glob's frame keeps only the newest batches' rows (`read_batches`); `spans`
    says which rows of the frame are each batch's.
    """
    if window is None:
        own = current.window if isinstance(current, CurrentSource) else None
        window = own or Window(since_last_check=True)
    _check_config(current, window, timestamp)
    previous = watermark or Watermark()
    rules = rules or Rules(timestamp=timestamp)
    if tracks_files(current, timestamp):
        found = _from_files(
            current, columns, root, previous, window.since_last_check, skip, rules, keep_rows
        )
        has_time = timestamps(found.frame, timestamp, needed=_cut_by_time(window)) is not None
    else:  # the timestamp column, when there is one, is parsed (or refused) while reading
        found = _from_rows(
            current, columns, root, timestamp, previous, window.since_last_check, skip, rules,
            keep_rows,
        )  # fmt: skip
        has_time = timestamp is not None
    frame = cut(found.frame, window, timestamp if has_time else None)
    return _loaded(frame, current, describe_window(window), found, timestamp, has_time)


def load_reference(
    source: Source,
    columns: Sequence[str] | None,
    root: Path,
    timestamp: str | None = None,
    categories: bool = False,
) -> LoadedWindow:
    """Load every row of the reference source (no watermark); with `categories`, Parquet text
    columns as categoricals (`files.read_files`)."""
    if categories and source.source_kind.lists_files:
        from retrain_core.data.files import read_files, tables_to_frame

        files = file_reader(source, root).files()
        frame = tables_to_frame(read_files(files, files.keys, columns, True), columns)
    else:
        frame = read_source(source, columns, root)
    stamps = timestamps(frame, timestamp, needed=False)
    found = _Candidates(frame=frame, new_rows=None, watermark=None)
    return _loaded(frame, source, "all", found, timestamp, stamps is not None)


def tracks_files(source: Source, timestamp: str | None) -> bool:
    """True when the watermark of this source is a set of judged files (else a timestamp)."""
    return typed(source).watermark_kind(timestamp) == "files"


def describe_window(window: Window) -> str:
    """since_last_check, last_rows=N, last=7d or all."""
    if window.since_last_check:
        return "since_last_check"
    if window.last_rows is not None:
        return f"last_rows={window.last_rows}"
    if window.last is not None:
        return f"last={format_duration(window.last, exact=True)}"
    return "all"


def _check_config(source: Source, window: Window, timestamp: str | None) -> None:
    if window.last is not None and timestamp is None:
        raise DataConfigError(f"window {describe_window(window)} needs data.timestamp")
    if window.since_last_check and timestamp is None and not tracks_files(source, timestamp):
        label = source.source_kind.label
        raise DataConfigError(f"since_last_check on a {label} source needs data.timestamp")


def _cut_by_time(window: Window) -> bool:
    return window.last is not None or window.last_rows is not None


def _from_files(
    current: Source,
    columns: Sequence[str] | None,
    root: Path,
    previous: Watermark,
    new: bool,
    skip: Collection[str],
    rules: Rules,
    keep_rows: int | None = None,
) -> _Candidates:
    """Read the new files (since_last_check) or all files; the next watermark adds the new ones."""
    files = file_reader(current, root).files()
    marks = {key: file_mark(files, key) for key in files.keys}
    keys = [key for key in files.keys if marks[key] not in skip]
    prints = fingerprints(files, marks, keys if files.is_glob else (), previous.prints)
    unseen = [
        key for key in keys if not previous.seen(marks[key]) or marks[key] in prints.rewritten
    ]
    read = unseen if new else keys
    judged = _rewritten(
        read_batches(files, read, marks, columns, rules, set(unseen), keep_rows), prints.rewritten
    )
    good = {batch.key for batch in judged.batches}
    fresh = [key for key in unseen if marks[key] in good]
    tables_rows = {b.key: n for b, n in zip(judged.batches, judged.rows, strict=True)}
    new_rows = sum(tables_rows[marks[key]] for key in fresh)
    present = tuple(marks.values())
    # A fingerprint is recorded for a batch judged now, or one judged before and unchanged.
    unjudged = {marks[key] for key in unseen} - good
    kept = {mark: value for mark, value in prints.now.items() if mark not in unjudged}
    after = previous.after_files(present, [marks[key] for key in fresh], kept)
    return _Candidates(
        frame=concat(judged.frames, columns),
        new_rows=new_rows,
        watermark=after,
        files=tuple(read),
        judged=judged,
        previous=previous,
        present=present,
        prints=kept,
        spans=_spans(judged),
    )


def _spans(judged: Judged) -> dict[str, tuple[int, int]]:
    """Which rows of the window's frame are each kept batch's (the frames are the last batches)."""
    spans, start = {}, 0
    kept = judged.batches[len(judged.batches) - len(judged.frames) :]
    for batch, frame in zip(kept, judged.frames, strict=True):
        spans[batch.key] = (start, start + len(frame))
        start += len(frame)
    return spans


def _rewritten(judged: Judged, rewritten: frozenset[str]) -> Judged:
    """The batches rewritten since a check judged them, marked so (and their reasons say so)."""
    if not rewritten:
        return judged
    judged.batches = [replace(b, rewritten=b.key in rewritten) for b in judged.batches]
    judged.quarantined = [
        replace(q, reason=f"rewritten after a check judged it, and now {q.reason}")
        if q.key in rewritten else q
        for q in judged.quarantined
    ]  # fmt: skip
    return judged


def _from_rows(
    current: Source,
    columns: Sequence[str] | None,
    root: Path,
    timestamp: str | None,
    previous: Watermark,
    new: bool,
    skip: Collection[str],
    rules: Rules,
    keep_rows: int | None = None,
) -> _Candidates:
    """Read the rows (a query gets :watermark) and, with a timestamp, keep the new ones if asked.

    With `keep_rows` a query that can stream (SQL) is read in chunks and only its newest
    `keep_rows` new rows are kept (by timestamp): a first check, with no watermark yet, reads a
    table of any size in bounded memory; the count of new rows and the watermark cover them all.
    """
    since = previous.timestamp if new and previous.timestamp else EARLIEST
    judged = None
    reader = typed(current, root)
    if current.source_kind.lists_files:  # one file cut by time: judged like a batch, so a bad
        frame, judged = judged_file(current, columns, root, skip, rules)  # file is set aside too
    elif keep_rows is not None and timestamp is not None and isinstance(reader, StreamingReader):
        chunks = reader.stream(columns, {"watermark": since})
        kept, count, newest, left_out = newest_rows(
            chunks, timestamp, previous, new, rules.latest, keep_rows
        )
        after = previous.after_timestamp(newest)
        return _Candidates(frame=kept, new_rows=count, watermark=after, future=left_out)
    else:
        frame = reader.read(columns, {"watermark": since})
    if timestamp is None:
        return _Candidates(frame=frame, new_rows=None, watermark=None, judged=judged)
    frame, stamps, fresh, left_out = fresh_rows(frame, timestamp, previous, rules.latest)
    newest = pydatetime(stamps.max()) if stamps.notna().any() else None
    after = previous.after_timestamp(newest)
    frame = frame[fresh] if new else frame
    return _Candidates(
        frame=frame, new_rows=int(fresh.sum()), watermark=after, judged=judged,
        future=left_out,
    )  # fmt: skip


def cut(frame: pd.DataFrame, window: Window, timestamp: str | None) -> pd.DataFrame:
    """Apply last_rows or last to the candidate rows (since_last_check is already applied)."""
    if window.last_rows is not None:
        if timestamp is not None:
            ordered = frame.sort_values(timestamp, kind="stable", na_position="first")
            frame = ordered.tail(window.last_rows)
        else:
            frame = frame.tail(window.last_rows)
    elif window.last is not None and timestamp is not None and len(frame):
        frame = frame[frame[timestamp] > frame[timestamp].max() - window.last]
    if frame.index.equals(_range(len(frame))):  # nothing cut: no copy of the rows
        return frame
    return frame.reset_index(drop=True)


def _range(rows: int) -> pd.Index:
    import pandas as pd

    return pd.RangeIndex(rows)


def _loaded(
    frame: pd.DataFrame,
    source: Source,
    window: str,
    found: _Candidates,
    timestamp: str | None,
    has_time: bool,
) -> LoadedWindow:
    newest = oldest = None
    if timestamp is not None and has_time and frame[timestamp].notna().any():
        newest = pydatetime(frame[timestamp].max())
        oldest = pydatetime(frame[timestamp].min())
    return LoadedWindow(
        frame=frame,
        source=describe(source),
        window=window,
        watermark=found.watermark,
        new_rows=found.new_rows,
        newest=newest,
        oldest=oldest,
        files=found.files,
        batches=tuple(found.judged.batches) if found.judged else (),
        quarantined=tuple(found.judged.quarantined) if found.judged else (),
        previous=found.previous,
        present=found.present,
        future=found.future,
        prints=found.prints,
        spans=found.spans,
    )
