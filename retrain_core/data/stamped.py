"""Rows by their timestamps: the column parsed, the rows that are new and not in the future, and
the newest rows of a stream kept in bounded memory (`data.windows` reads a query through these).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from retrain_core.data.errors import BadData
from retrain_core.data.timestamps import parse_timestamps

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.data.watermark import Watermark


def timestamps(frame: pd.DataFrame, timestamp: str | None, needed: bool) -> pd.Series | None:
    """Parse the timestamp column in place; a window that needs it fails with BadData."""
    if timestamp is None:
        return None
    if timestamp not in frame.columns:
        if needed:
            raise BadData(f"the timestamp column {timestamp!r} is missing")
        return None
    stamps = parse_timestamps(frame[timestamp])
    if stamps is None:
        if needed:
            raise BadData(f"the timestamp column {timestamp!r} is not parseable as datetimes")
        return None
    frame[timestamp] = stamps
    return stamps


def pydatetime(stamp: pd.Timestamp) -> datetime:
    """A pandas timestamp as a datetime, floored to the microsecond (the watermark resolution)."""
    return stamp.floor("us").to_pydatetime()


def fresh_rows(
    frame: pd.DataFrame, timestamp: str, previous: Watermark, latest: datetime | None
) -> tuple[pd.DataFrame, pd.Series, pd.Series, int]:
    """The rows not stamped after `latest` (left out until their time comes: no watermark in
    the future), their parsed stamps, which of them are after the watermark, and how many rows
    were left out."""
    stamps = timestamps(frame, timestamp, needed=True)
    assert stamps is not None
    left_out = 0
    if latest is not None:
        future = stamps > latest
        frame, stamps, left_out = frame[~future], stamps[~future], int(future.sum())
    fresh = stamps.notna()
    if previous.timestamp is not None:
        fresh &= stamps.dt.floor("us") > previous.timestamp
    return frame, stamps, fresh, left_out


def newest_rows(
    chunks: Iterable[pd.DataFrame],
    timestamp: str,
    previous: Watermark,
    new: bool,
    latest: datetime | None,
    keep_rows: int,
) -> tuple[pd.DataFrame, int, datetime | None, int]:
    """`fresh_rows` over a stream, every chunk counted and only the newest `keep_rows` rows kept
    (memory holds about `keep_rows` rows and one chunk): the kept rows (only the new ones when
    `new`), the count of new rows, the newest stamp and the rows left out as in the future."""
    import pandas as pd

    kept: pd.DataFrame | None = None
    count = left_out = 0
    newest = None
    for chunk in chunks:  # a chunk may be a slice of the fetched rows: its own frame to parse
        frame, stamps, fresh, future = fresh_rows(
            chunk.copy(deep=False), timestamp, previous, latest
        )
        left_out += future
        count += int(fresh.sum())
        if stamps.notna().any():
            top = stamps.max()
            newest = top if newest is None or top > newest else newest
        frame = frame[fresh] if new else frame
        kept = frame if kept is None else pd.concat([kept, frame], ignore_index=True)
        if len(kept) > keep_rows:  # the newest by time; rows without a stamp go first
            order = kept[timestamp].sort_values(kind="stable", na_position="first").index
            kept = kept.loc[order[-keep_rows:]].reset_index(drop=True)
    if kept is None:
        raise BadData("the query returned no result set")  # a stream always yields a frame
    kept = kept.infer_objects()  # a column with no value in one chunk is numbers in all
    return kept, count, (pydatetime(newest) if newest is not None else None), left_out
