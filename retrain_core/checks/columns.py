"""One column's values as arrays: floats with NaN for nulls, integer codes, JSON categories."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

_POINTER_MIN_ROWS = 10_000  # below this a plain hash pass is as fast
_POINTER_MAX_DISTINCT = 10_000
_FEW_CATEGORIES = 32  # categoricals with more present values find first rows by sorting


def float_values(series: pd.Series) -> np.ndarray:
    """Values as float64 with NaN for nulls; a float64 column is used as is, not copied."""
    if isinstance(series.dtype, np.dtype):
        return series.to_numpy(dtype=np.float64)
    return series.to_numpy(dtype=np.float64, na_value=np.nan)  # Int64, Float64, ...


def factorize(series: pd.Series) -> tuple[np.ndarray, Any]:
    """``pd.factorize(series)`` (codes, -1 for null; distinct values in first-seen order), faster
    for text columns whose repeated values share objects (as Parquet readers and most producers
    leave them): the object pointers are factorized as integers, then only one object per
    pointer is hashed as a value. Columns with many distinct objects take the usual path."""
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):  # text read as categories: codes exist
        return _category_codes(series)
    values = series.to_numpy()
    if values.dtype != object or values.size < _POINTER_MIN_ROWS:
        return pd.factorize(values)
    try:
        pointers = np.frombuffer(values, dtype=np.intp)  # the array's object pointers, no copy
    except (TypeError, ValueError, BufferError):
        return pd.factorize(values)
    pointer_codes, distinct = pd.factorize(pointers)
    if distinct.size > max(_POINTER_MAX_DISTINCT, values.size // 100):
        return pd.factorize(values)
    seen = np.maximum.accumulate(pointer_codes)
    first = np.flatnonzero(np.diff(seen, prepend=-1) > 0)  # first row of each pointer, in order
    codes, uniques = pd.factorize(values[first])  # equal values, nulls: as pandas decides
    return codes[pointer_codes], uniques


def _category_codes(series: pd.Series) -> tuple[np.ndarray, Any]:
    """`factorize` of a categorical column from its codes: only the values present, in
    first-seen order, as ``pd.factorize`` of its values gives them (the values not copied)."""
    codes = np.asarray(series.cat.codes.to_numpy(), dtype=np.intp)
    present = np.flatnonzero(np.bincount(codes + 1, minlength=1)[1:])  # -1 (null) left out
    if present.size <= _FEW_CATEGORIES:  # the first row of each: one pass per category
        first = np.array([np.argmax(codes == code) for code in present], dtype=np.intp)
    else:
        values, index = np.unique(codes, return_index=True)
        first = index[values >= 0]
    order = present[np.argsort(first, kind="stable")]
    remap = np.full(len(series.cat.categories) + 1, -1, dtype=np.intp)
    remap[order + 1] = np.arange(len(order))
    uniques = np.asarray(series.cat.categories.to_numpy(), dtype=object)[order]
    return remap[codes + 1], uniques


def plain(value: Any) -> Any:
    """A category as a JSON value: numpy scalars become Python ones, anything else its str."""
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str | int | float | bool) else str(value)
