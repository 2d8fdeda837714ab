"""What late labels tell a check: the champion's live labelled rows, and the change's labels.

Live rows (newer than the champion's training data, labelled before this check) give the
performance trigger its live baseline; `Fresh` tells `decide()` how many labelled rows from after
the change have arrived.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.data import BadData
from retrain_core.data.timestamps import parse_timestamps
from retrain_core.decide.pending import Fresh, change_start
from retrain_core.decide.records import LedgerEntry
from retrain_core.decide.swings import swings
from retrain_core.kinds.context import Champion
from retrain_core.monitor.training_data import load_training_data
from retrain_core.monitor.windows import Loaded
from retrain_core.policy.schema import Policy

if TYPE_CHECKING:
    import pandas as pd


def label_context(
    policy: Policy,
    root: Path,
    data: Loaded,
    champion: Champion | None,
    history: list[LedgerEntry],
    now: datetime,
    skip: dict[str, set[str]] | None = None,
) -> tuple[Loaded, Fresh | None]:
    """The champion's earlier live labelled rows, and the labelled rows from after the change.

    Live rows (newer than the champion's training data, labelled before this check) give the
    performance trigger its live baseline; `Fresh` tells `decide()` whether labels of the changed
    rows have arrived. Without late labels or a timestamp there is nothing to wait for.
    """
    data = replace(data, windows=replace(data.windows, swings=swings(history)))
    labels, stamp, w = policy.data.labels, policy.data.timestamp, data.windows
    if labels is None or stamp is None or w.problems:
        return data, None
    try:
        rows = load_training_data(policy, root, skip, now)
    except BadData:  # an older file is bad: the checks judge this window; nothing to count by
        return data, None
    rows = rows.assign(**{stamp: parse_timestamps(rows[stamp])}).dropna(subset=[stamp])
    start = _oldest(w.current, stamp) or now
    since = change_start(history, start)
    measured = _oldest(w.labelled, stamp) if w.labelled is not None else None
    fresh = Fresh(since, int((rows[stamp] >= since).sum()), labels.lag, measured)
    if champion is None or champion.trained_until is None:
        return data, fresh
    live = rows[rows[stamp] > champion.trained_until]
    if w.labelled is not None and labels.join_on in live.columns:
        live = live[~live[labels.join_on].isin(w.labelled[labels.join_on])]
    live = live.sort_values(stamp, kind="stable").reset_index(drop=True)
    return replace(data, windows=replace(w, live=live)), fresh


def _oldest(frame: pd.DataFrame | None, stamp: str) -> datetime | None:
    """The oldest timestamp of a frame, or None when it has none."""
    if frame is None or frame.empty or stamp not in frame.columns:
        return None
    stamps = parse_timestamps(frame[stamp])
    if stamps is None or stamps.isna().all():
        return None
    return stamps.min().floor("us").to_pydatetime()
