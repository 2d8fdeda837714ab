"""Which rows a challenger learns from and is judged on: the window, the change, the holdout."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from retrain_core.training.errors import TrainingError

if TYPE_CHECKING:
    from retrain_core.policy.schema import Policy


def labelled(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows whose label has arrived (labels may lag the features)."""
    if target not in frame.columns:
        raise TrainingError(f"target column {target!r} is not in the training data")
    return frame.loc[frame[target].notna()]


def select_window(
    frame: pd.DataFrame, window: timedelta | None, timestamp: str | None
) -> pd.DataFrame:
    """Rows within `window` of the newest timestamp (all rows when no window is set)."""
    if window is None:
        return frame
    if timestamp is None or timestamp not in frame.columns:
        raise TrainingError(
            f"training.window needs a timestamp column (data.timestamp={timestamp})"
        )
    stamps = pd.to_datetime(frame[timestamp])
    return frame.loc[stamps >= stamps.max() - window]


def window_bounds(frame: pd.DataFrame, timestamp: str | None) -> tuple[str, str] | None:
    """The oldest and newest timestamps of a frame as ISO strings, or None without timestamps."""
    if timestamp is None or timestamp not in frame.columns or frame.empty:
        return None
    stamps = pd.to_datetime(frame[timestamp])
    return stamps.min().isoformat(), stamps.max().isoformat()


def split_after_change(
    policy: Policy,
    rows: pd.DataFrame,
    since: datetime | None,
    minimum: int,
    stratify: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The holdout: the newest `training.holdout` share of the window; but for a retrain that
    answers a change, when that share would leave fewer than `minimum` rows of the change to
    train on (a change whose labels just arrived, a long window), the newest share of the rows
    from the change on, when that leaves `minimum` of them to train on and `gate.min_rows` to
    judge on (and, for a classifier, two classes on each side). Otherwise the challenger would
    be fit on old rows alone and judged on the new ones: a retrain that cannot help.
    """
    training, stamp = policy.training, policy.data.timestamp
    whole = split_holdout(rows, training.holdout, stamp, training.random_state, stratify)
    if since is None or minimum <= 0 or stamp is None or stamp not in rows.columns:
        return whole
    start = pd.Timestamp(since)
    if (pd.to_datetime(whole[0][stamp], utc=True) >= start).sum() >= minimum:
        return whole  # the change is already there to learn from
    after = pd.to_datetime(rows[stamp], utc=True) >= start
    recent = rows.loc[after]
    n_holdout = math.ceil(len(recent) * training.holdout)
    if len(recent) - n_holdout < minimum or n_holdout < policy.gate.min_rows:
        return whole
    trained, holdout = split_holdout(recent, training.holdout, stamp)  # its newest share
    if stratify is not None and min(trained[stratify].nunique(), holdout[stratify].nunique()) < 2:
        return whole
    return pd.concat([rows.loc[~after], trained]), holdout


def split_holdout(
    frame: pd.DataFrame,
    holdout: float,
    timestamp: str | None = None,
    random_state: int = 0,
    stratify: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off the newest `holdout` share by timestamp, else a seeded (stratified) shuffle."""
    n_holdout = math.ceil(len(frame) * holdout)
    if len(frame) < 2 or not 0 < n_holdout < len(frame):
        raise TrainingError(f"cannot split {len(frame)} rows into training and holdout sets")
    if timestamp is not None:
        if timestamp not in frame.columns:
            raise TrainingError(f"timestamp column {timestamp!r} is not in the training data")
        ordered = frame.iloc[np.argsort(pd.to_datetime(frame[timestamp]).to_numpy(), kind="stable")]
        return ordered.iloc[:-n_holdout], ordered.iloc[-n_holdout:]
    from sklearn.model_selection import train_test_split

    labels = frame[stratify] if stratify is not None else None
    if labels is not None:
        counts = labels.value_counts()
        if counts.min() < 2 or n_holdout < len(counts) or len(frame) - n_holdout < len(counts):
            labels = None
    train, test = train_test_split(
        frame, test_size=n_holdout, random_state=random_state, stratify=labels
    )
    return train, test


def since_change(
    rows: pd.DataFrame,
    timestamp: str | None,
    since: datetime | None,
    min_rows: int,
    classes_of: str | None = None,
) -> pd.DataFrame:
    """The rows from `since` on when at least `min_rows` (> 0) of them exist (and, for a
    classifier's target `classes_of`, at least two classes), else all rows."""
    if since is None or min_rows <= 0 or timestamp is None or timestamp not in rows.columns:
        return rows
    recent = rows.loc[pd.to_datetime(rows[timestamp], utc=True) >= pd.Timestamp(since)]
    if len(recent) < min_rows or (classes_of is not None and recent[classes_of].nunique() < 2):
        return rows
    return recent


def unseen_rows(
    holdout: pd.DataFrame, timestamp: str | None, trained_until: datetime | None
) -> pd.DataFrame:
    """The holdout rows newer than a champion's training data (all of them without timestamps)."""
    if timestamp is None or trained_until is None or timestamp not in holdout.columns:
        return holdout
    stamps = pd.to_datetime(holdout[timestamp], utc=True)
    return holdout.loc[stamps > pd.Timestamp(trained_until)]
