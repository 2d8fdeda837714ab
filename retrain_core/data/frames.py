"""Column projection shared by every reader: only the wanted columns, in the wanted order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def project(frame: pd.DataFrame, columns: Sequence[str] | None) -> pd.DataFrame:
    """The wanted columns the frame has, in the wanted order (all columns when None)."""
    if columns is None:
        return frame
    return frame[[column for column in unique(columns) if column in frame.columns]]


def unique(columns: Iterable[str]) -> list[str]:
    """Column names without repeats, first occurrence first."""
    return list(dict.fromkeys(columns))
