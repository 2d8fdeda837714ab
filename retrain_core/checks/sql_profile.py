"""A SQL source's window profiled where its rows are: its `BatchProfile`, rows never held whole.

The entry point for a check whose current source is ``sql``::

    found = sql_window_profile(source, root, reference_profile, numeric, categorical,
                               timestamp=policy.data.timestamp, window=..., watermark=...,
                               now=now, future_tolerance=policy.data.future_tolerance)
    detect_drift_profiled(reference_profile, found.profile, numeric, categorical, ...)

`found` holds what `data.windows.load_window` then `batch_profile.profile_frame` give for the
same source, window and rows (`SqlWindowProfile`): the profile (rows, nulls, min/max, counts
per fine bin of `reference_profile`, counts per category, the newest stamp), the watermark to
store after judging, the new rows, the rows left out as stamped in the future and the window's
oldest and newest stamps. The window is cut as `data.windows` cuts a window of rows: the query
gets ``:watermark`` (the previous watermark for ``since_last_check``, else the earliest time);
rows stamped after `now` + `future_tolerance` are left out and counted; ``since_last_check``
keeps the stamped rows after the previous watermark; ``last`` keeps the rows stamped after the
newest one minus the duration. ``last_rows`` (an order, not a set) is refused: read the rows.

Two ways, one result (the parity tests hold them to `profile_frame` of the rows):

- PostgreSQL: pushed down (`checks.sql_pushdown`): the database counts, a few hundred rows of
  aggregates come back, and this process stays small whatever the window's size.
- SQLite (tests, small setups; it has no ``width_bucket`` and a bin search in SQL would cost a
  join per row): the query is streamed twice in chunks of ``CHUNK_ROWS`` rows (`SqlSource.stream`)
  and each chunk is cut and profiled with `profile_frame`, then merged: bounded memory (one
  chunk and the counts), the rows pass through this process. The first pass reads only what
  cutting by time needs and is skipped without a timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.checks.batch_profile import MAX_CATEGORIES, BatchProfile, merge, profile_frame
from retrain_core.checks.sql_pushdown import Cut, Tally, pushdown
from retrain_core.data.batches import EARLIEST
from retrain_core.data.errors import BadData, DataConfigError
from retrain_core.data.readers import typed
from retrain_core.data.sources.sql import SqlSource
from retrain_core.data.sql import CHUNK_ROWS, bind_values, checked_statement
from retrain_core.data.watermark import Watermark
from retrain_core.data.windows import describe_window
from retrain_core.policy.sources import CurrentSource, Source, Window

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

    from retrain_core.checks.profile import ReferenceProfile


@dataclass(frozen=True, eq=False)
class SqlWindowProfile:
    """A SQL window known by its profile, with what the ledger records about it (as
    `data.windows.LoadedWindow`): `watermark` to store after judging (None without a
    timestamp), `new_rows` after the previous watermark (None without a timestamp), `future`
    rows left out, the window's `oldest`/`newest` stamps, and whether the database counted."""

    profile: BatchProfile
    watermark: Watermark | None
    new_rows: int | None
    future: int
    oldest: datetime | None
    newest: datetime | None
    pushed_down: bool

    @property
    def rows(self) -> int:
        """Rows in the window."""
        return self.profile.rows


def sql_window_profile(
    source: Source,
    root: Path,
    reference: ReferenceProfile,
    numeric: Sequence[str],
    categorical: Sequence[str],
    timestamp: str | None = None,
    window: Window | None = None,
    watermark: Watermark | None = None,
    now: datetime | None = None,
    future_tolerance: timedelta = timedelta(0),
    rows: int = CHUNK_ROWS,
) -> SqlWindowProfile:
    """The profile of a SQL source's window over `reference`'s bins, computed by the database
    (PostgreSQL) or streamed `rows` at a time (SQLite); see the module docstring.

    `window` defaults to the source's own (since_last_check for a source without one); `now`
    (the check's time) leaves out rows stamped after it plus `future_tolerance`, as the monitor
    does. Raises `DataConfigError` for a window that needs a timestamp without one or a
    ``last_rows`` window, `BadData` for a missing or unparseable timestamp column and
    `SourceUnavailable` when the database fails (in words without its password or values).
    """
    reader = typed(source, root)
    if not isinstance(reader, SqlSource):
        raise DataConfigError(f"a {source.kind} source is not a SQL source")
    if window is None:
        own = source.window if isinstance(source, CurrentSource) else None
        window = own or Window(since_last_check=True)
    previous = watermark or Watermark()
    cut = _cut(window, timestamp, previous, now, future_tolerance)
    numeric, categorical = list(numeric), list(categorical)
    with reader.connect() as connection:
        if connection.dialect.name == "postgresql":
            statement = checked_statement(reader.query, nested=True)
            values = bind_values(statement, {**reader.query.params, "watermark": cut.since})
            found = pushdown(connection, statement, values, reference, numeric, categorical, cut)
            profile, tally, (oldest, newest) = found
            return _result(profile, tally, previous, oldest, newest, pushed_down=True)
    profile, tally, (oldest, newest) = _streamed(reader, reference, numeric, categorical, cut, rows)
    return _result(profile, tally, previous, oldest, newest, pushed_down=False)


def _cut(
    window: Window,
    timestamp: str | None,
    previous: Watermark,
    now: datetime | None,
    tolerance: timedelta,
) -> Cut:
    """The window as a `Cut`; the windows `data.windows` refuses for a SQL source, refused."""
    if window.last_rows is not None:
        raise DataConfigError(
            f"window {describe_window(window)} is an order, not a set of rows: it is not "
            "profiled in the database (read the rows)"
        )
    if window.last is not None and timestamp is None:
        raise DataConfigError(f"window {describe_window(window)} needs data.timestamp")
    if window.since_last_check and timestamp is None:
        raise DataConfigError("since_last_check on a SQL source needs data.timestamp")
    fresh_only = window.since_last_check
    since = previous.timestamp if fresh_only and previous.timestamp else EARLIEST
    latest = now + tolerance if now is not None and timestamp is not None else None
    return Cut(timestamp, since, previous.timestamp, fresh_only, latest, window.last)


def _result(
    profile: BatchProfile,
    tally: Tally | None,
    previous: Watermark,
    oldest: datetime | None,
    newest: datetime | None,
    pushed_down: bool,
) -> SqlWindowProfile:
    if tally is None:
        return SqlWindowProfile(profile, None, None, 0, oldest, newest, pushed_down)
    after = previous.after_timestamp(tally.newest)
    return SqlWindowProfile(
        profile, after, tally.new_rows, tally.future, oldest, newest, pushed_down
    )


def _streamed(
    reader: SqlSource,
    reference: ReferenceProfile,
    numeric: list[str],
    categorical: list[str],
    cut: Cut,
    rows: int,
) -> tuple[BatchProfile, Tally | None, tuple[datetime | None, datetime | None]]:
    """The fallback: the query streamed, first for the tally (with a timestamp), then each
    chunk cut and profiled; one chunk held at a time."""
    params = {"watermark": cut.since}
    tally = None
    if cut.timestamp is not None:
        tally = Tally()
        for chunk in reader.stream([cut.timestamp], params, rows):
            _add_tally(tally, _stamps(chunk, cut.timestamp), cut)
        tally.newest = _floor(tally.newest)
    cutoff, empty = cut.cutoff(tally)
    columns = [*numeric, *categorical, *([cut.timestamp] if cut.timestamp else [])]
    profiles: list[BatchProfile] = []
    oldest = newest = None
    for chunk in reader.stream(columns, params, rows):
        frame = _window(chunk, cut, cutoff, empty)
        profiles.append(profile_frame(frame, reference, numeric, categorical, cut.timestamp))
        if cut.timestamp is not None and frame[cut.timestamp].notna().any():
            oldest = _earlier(oldest, frame[cut.timestamp].min())
            newest = _later(newest, frame[cut.timestamp].max())
        if len(profiles) > 1:
            profiles = [merge(profiles)]
    profile = merge(profiles)
    profile.reference = reference.key
    for name in [n for n, tally in profile.counts.items() if len(tally) > MAX_CATEGORIES]:
        del profile.counts[name]  # few values in each chunk, too many in the window
        profile.low.pop(name, None)
        profile.high.pop(name, None)
        profile.too_many.add(name)
    for name in categorical:  # `profile_frame` sets them only from values of one type
        for side in (profile.low, profile.high):
            if name in side and side[name] is None:
                del side[name]
    return profile, tally, (_floor(oldest), _floor(newest))


def _stamps(chunk: pd.DataFrame, timestamp: str) -> pd.Series:
    """The chunk's timestamp column parsed to UTC, as `data.windows` parses it."""
    from retrain_core.data.timestamps import parse_timestamps

    if timestamp not in chunk.columns:
        raise BadData(f"the timestamp column {timestamp!r} is missing")
    stamps = parse_timestamps(chunk[timestamp])
    if stamps is None:
        raise BadData(f"the timestamp column {timestamp!r} is not parseable as datetimes")
    return stamps


def _masks(stamps: pd.Series, cut: Cut) -> tuple[pd.Series, pd.Series]:
    """(kept: not stamped in the future, fresh: stamped after the previous watermark)."""
    kept = ~(stamps > cut.latest) if cut.latest is not None else stamps.isna() | stamps.notna()
    fresh = stamps.notna()
    if cut.previous is not None:
        fresh &= stamps.dt.floor("us") > cut.previous
    return kept, fresh


def _add_tally(tally: Tally, stamps: pd.Series, cut: Cut) -> None:
    kept, fresh = _masks(stamps, cut)
    tally.future += int((~kept).sum())
    tally.newest = _later(tally.newest, stamps[kept].max())
    tally.new_rows += int((kept & fresh).sum())
    framed = kept & fresh if cut.fresh_only else kept
    tally.rows += int(framed.sum())
    tally.latest = _later(tally.latest, stamps[framed].max())


def _window(chunk: pd.DataFrame, cut: Cut, cutoff: datetime | None, empty: bool) -> pd.DataFrame:
    """The chunk's rows in the window (`data.windows._from_rows` then `_cut`)."""
    if cut.timestamp is None:
        return chunk.reset_index(drop=True)
    stamps = _stamps(chunk, cut.timestamp)
    chunk = chunk.assign(**{cut.timestamp: stamps})
    kept, fresh = _masks(stamps, cut)
    keep = kept & fresh if cut.fresh_only else kept
    if empty:
        keep &= False
    elif cutoff is not None:
        keep &= stamps > cutoff
    return chunk[keep].reset_index(drop=True)


def _later(a: Any, b: Any) -> Any:
    import pandas as pd

    if b is None or pd.isna(b):
        return a
    return b if a is None or b > a else a


def _earlier(a: Any, b: Any) -> Any:
    import pandas as pd

    if b is None or pd.isna(b):
        return a
    return b if a is None or b < a else a


def _floor(stamp: Any) -> datetime | None:
    """A pandas timestamp as a datetime floored to the microsecond (the watermark's unit)."""
    if stamp is None:
        return None
    result: datetime = stamp.floor("us").to_pydatetime()
    return result
