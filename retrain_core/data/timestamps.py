"""Timestamps: parse a column to UTC (naive values are UTC) and spot text that mixes zones."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

_ZONED = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")


def parse_timestamps(values: pd.Series) -> pd.Series | None:
    """The values as UTC datetime64[ns] (naive ones taken as UTC), or None if unparseable."""
    import pandas as pd
    from pandas.api import types

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC")
    elif types.is_datetime64_dtype(values.dtype):
        parsed = values.dt.tz_localize("UTC")
    elif values.notna().any() and (types.is_numeric_dtype(values) or types.is_bool_dtype(values)):
        return None
    else:
        try:
            parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
        except (ValueError, TypeError, OverflowError):
            return None
        if bool((parsed.isna() & values.notna()).any()):
            return None
    try:
        return parsed.dt.as_unit("ns")
    except (ValueError, OverflowError):  # beyond 2262: keep the coarser unit
        return parsed


def mixes_zones(values: pd.Series) -> bool:
    """True when text timestamps mix values with and without a UTC offset (ambiguous times)."""
    from pandas.api import types

    if not (types.is_object_dtype(values) or types.is_string_dtype(values)):
        return False
    text = values.dropna().astype(str).str.strip()
    if text.empty:
        return False
    zoned = text.str.contains(_ZONED)
    return bool(zoned.any() and not zoned.all())
