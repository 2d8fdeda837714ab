"""Late labels: read the label rows and join them onto a window by key."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.data.errors import BadData
from retrain_core.data.readers import read_source
from retrain_core.policy.sources import LabelSource

if TYPE_CHECKING:
    import pandas as pd


def load_labels(labels: LabelSource, target: str, root: Path) -> pd.DataFrame:
    """Every label row, with only the join key and the target column."""
    return read_source(labels, [labels.join_on, target], root)


def join_labels(
    frame: pd.DataFrame, labels: pd.DataFrame, join_on: str, target: str
) -> pd.DataFrame:
    """The window with `target` filled from the labels: a left join on `join_on`, rows kept.

    Rows whose key has no label keep the window's own target value when it has one, else NaN
    (labels may lag: that is not an error). When a key has several labels the last one in source
    order wins (a later file corrects an earlier one); label rows without a key are ignored. Keys
    of different kinds (numbers in one source, text in the other) are compared as text. A missing
    key or target column raises `BadData`, which the monitor records as a blocked decision.
    """
    if join_on not in frame.columns:
        raise BadData(f"the current window has no column {join_on!r} to join the labels on")
    for column in (join_on, target):
        if column not in labels.columns:
            raise BadData(f"the label source has no column {column!r}")
    known = labels.dropna(subset=[join_on]).drop_duplicates(subset=[join_on], keep="last")
    keys, label_keys = _comparable(frame[join_on], known[join_on])
    values = keys.map(dict(zip(label_keys, known[target], strict=True)))
    joined = frame.copy()
    if target in frame.columns:
        values = values.where(values.notna(), frame[target])
    joined[target] = values
    return joined


def _comparable(left: pd.Series, right: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The two key columns as they are, or both as text when one is numeric and one is not."""
    from pandas.api import types

    if types.is_numeric_dtype(left) == types.is_numeric_dtype(right):
        return left, right
    return _as_text(left), _as_text(right)


def _as_text(values: pd.Series) -> pd.Series:
    """Keys as text; whole floats (integer keys with gaps) lose their ``.0`` first."""
    from pandas.api import types

    if types.is_float_dtype(values) and bool((values.dropna() % 1 == 0).all()):
        values = values.astype("Int64")
    return values.astype("string")
