"""Vectorized great-expectations for the common expectations: same names, arguments and results.

great-expectations copies and hashes the whole window many times per suite; these expectations
are one or two numpy passes over one column. Each function gives the ``success`` and the
``result`` document great-expectations gives under its default ``SUMMARY`` format (checked by
tests/unit/test_checks_fastexpect.py against great-expectations on passing and failing cases).
Anything outside what is handled here exactly (another expectation, another argument such as
``row_condition``, a missing column, an unusual dtype, arguments great-expectations would reject)
returns None and is left to great-expectations itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from retrain_core.checks.columns import factorize

if TYPE_CHECKING:
    import pandas as pd

PARTIAL = 20  # great-expectations' partial_unexpected_count under SUMMARY
_BETWEEN = frozenset({"column", "min_value", "max_value", "strict_min", "strict_max"})


@dataclass(frozen=True)
class Result:
    """The parts of great-expectations' ExpectationValidationResult the checks read."""

    success: bool
    result: dict[str, Any] = field(default_factory=dict)
    exception_info: dict[str, Any] | None = None


def fast_result(
    df: pd.DataFrame, name: str, kwargs: dict[str, Any], memo: dict[str, Any] | None = None
) -> Result | None:
    """great-expectations' result for this expectation on `df`, or None to let it run there.

    `memo` keeps each text column's codes between the expectations of one batch.
    """
    if not vectorized(name, kwargs):
        return None
    handler = _HANDLERS[name]
    if "column" in handler[0]:
        column = kwargs.get("column")
        if not isinstance(column, str) or list(df.columns).count(column) != 1:
            return None
        memo = {} if memo is None else memo
        if column not in memo:
            memo[column] = _Column(df[column])
        return handler[1](memo[column], kwargs)
    return handler[1](df, kwargs)


def vectorized(name: str, kwargs: dict[str, Any]) -> bool:
    """True when this expectation is evaluated here, not by great-expectations (unless a
    column's dtype is unusual or missing: `fast_result` then returns None)."""
    handler = _HANDLERS.get(name)
    return handler is not None and set(kwargs) <= handler[0]


class _Column:
    """One column, with its null mask and (for text) its codes computed once."""

    def __init__(self, series: pd.Series) -> None:
        self.series = series
        self._codes: tuple[np.ndarray, Any] | None = None
        self._null: np.ndarray | None = None

    @property
    def coded(self) -> bool:
        return self.series.dtype == object

    def codes(self) -> tuple[np.ndarray, Any]:
        """Integer codes (-1 for null) and the distinct values: one hash pass for text."""
        if self._codes is None:
            self._codes = factorize(self.series)
        return self._codes

    def null(self) -> np.ndarray:
        if self._null is None:
            kind = self.series.dtype.kind
            if self.coded:
                self._null = self.codes()[0] < 0
            elif kind == "f":
                self._null = np.isnan(self.series.to_numpy())
            elif kind in "iub":
                self._null = np.zeros(len(self.series), dtype=bool)
            else:
                self._null = self.series.isna().to_numpy()
        return self._null

    def isin(self, values: list[Any]) -> np.ndarray:
        if not self.coded:
            return self.series.isin(values).to_numpy()
        import pandas as pd

        codes, uniques = self.codes()
        found = np.append(pd.Index(uniques).isin(values), False)  # code -1 (null): not found
        return found[codes]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _bounds(kwargs: dict[str, Any]) -> tuple[Any, Any, bool, bool] | None:
    """min, max and strictness when great-expectations would accept them, else None."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    strict_min, strict_max = kwargs.get("strict_min", False), kwargs.get("strict_max", False)
    if low is None and high is None:
        return None
    if any(v is not None and not _is_number(v) for v in (low, high)):
        return None
    if low is not None and high is not None and low > high:
        return None
    if not isinstance(strict_min, bool) or not isinstance(strict_max, bool):
        return None
    return low, high, strict_min, strict_max


def _mostly(kwargs: dict[str, Any]) -> float | None:
    mostly = kwargs.get("mostly", 1.0)
    return float(mostly) if _is_number(mostly) and 0 <= mostly <= 1 else None


def _numeric(series: pd.Series) -> bool:
    return isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf"


def _plain_dtype(series: pd.Series) -> bool:
    return isinstance(series.dtype, np.dtype) and series.dtype.kind in "iufbO"


def _not_null(column: _Column, kwargs: dict[str, Any]) -> Result | None:
    mostly, series = _mostly(kwargs), column.series
    if mostly is None or not _plain_dtype(series):
        return None
    unexpected = column.null()
    total, count = len(series), int(np.count_nonzero(unexpected))
    success = total == 0 or (total - count) / total >= mostly
    return _map_result(series, unexpected, success, count, nonnull=None)


def _between(column: _Column, kwargs: dict[str, Any]) -> Result | None:
    bounds, mostly, series = _bounds(kwargs), _mostly(kwargs), column.series
    if bounds is None or mostly is None or not _numeric(series):
        return None
    low, high, strict_min, strict_max = bounds
    values = series.to_numpy()
    inside = np.ones(values.shape, dtype=bool)
    if low is not None:
        inside &= values > low if strict_min else values >= low
    if high is not None:
        inside &= values < high if strict_max else values <= high
    null = column.null()
    return _map(series, ~inside & ~null, null, mostly)


def _in_set(column: _Column, kwargs: dict[str, Any], *, negate: bool = False) -> Result | None:
    value_set, mostly, series = kwargs.get("value_set"), _mostly(kwargs), column.series
    if not isinstance(value_set, list | tuple | set) or mostly is None:
        return None
    if not _plain_dtype(series) or not all(_hashable(v) for v in value_set):
        return None
    found = column.isin(list(value_set))
    null = column.null()
    return _map(series, (found if negate else ~found) & ~null, null, mostly)


def _hashable(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _map(series: pd.Series, unexpected: np.ndarray, null: np.ndarray, mostly: float) -> Result:
    """A column map expectation's result, nulls left out as great-expectations leaves them."""
    total, missing = len(series), int(np.count_nonzero(null))
    count, nonnull = int(np.count_nonzero(unexpected)), total - missing
    success = total == 0 or nonnull == 0 or (nonnull - count) / nonnull >= mostly
    return _map_result(series, unexpected, success, count, nonnull)


def _map_result(
    series: pd.Series, unexpected: np.ndarray, success: bool, count: int, nonnull: int | None
) -> Result:
    """great-expectations' SUMMARY document (``_format_map_output``) for a column map."""
    total = len(series)
    rows = np.flatnonzero(unexpected)[:PARTIAL]
    values = series.iloc[rows].tolist()
    result: dict[str, Any] = {
        "element_count": total,
        "unexpected_count": count,
        "unexpected_percent": None,
        "partial_unexpected_list": values,
    }
    total_pct = count / total * 100 if total else None
    if nonnull is None:
        result["unexpected_percent"] = total_pct
    else:
        nonmissing = count / nonnull * 100 if total and nonnull else None
        result["unexpected_percent"] = nonmissing
        result |= {
            "missing_count": total - nonnull,
            "missing_percent": (total - nonnull) / total * 100 if total else None,
            "unexpected_percent_total": total_pct,
            "unexpected_percent_nonmissing": nonmissing,
        }
    try:
        common = sorted(Counter(values).most_common(PARTIAL), key=lambda x: (-x[1], x[0]))
        result["partial_unexpected_counts"] = [{"value": v, "count": c} for v, c in common]
    except TypeError:  # values that do not sort together: great-expectations leaves them out
        pass
    result["partial_unexpected_index_list"] = series.index[rows].tolist()
    return Result(bool(success), result)


def _aggregate(statistic: str) -> Callable[[_Column, dict[str, Any]], Result | None]:
    """expect_column_<statistic>_to_be_between, with great-expectations' comparison rules."""

    def check(column: _Column, kwargs: dict[str, Any]) -> Result | None:
        bounds, series = _bounds(kwargs), column.series
        if bounds is None or not _numeric(series) or series.dtype.kind == "b":
            return None
        value = getattr(series, statistic)()
        if value is None or value != value:
            return Result(False, {"observed_value": None})
        return Result(_within(value, *bounds), {"observed_value": value})

    return check


def _within(value: Any, low: Any, high: Any, strict_min: bool, strict_max: bool) -> bool:
    above = low is None or (value > low if strict_min else value >= low)
    below = high is None or (value < high if strict_max else value <= high)
    return bool(above and below)


def _row_count(df: pd.DataFrame, kwargs: dict[str, Any]) -> Result | None:
    bounds = _bounds(kwargs)
    if bounds is None or any(isinstance(kwargs.get(k), float) for k in ("min_value", "max_value")):
        return None
    return Result(_within(len(df), *bounds), {"observed_value": len(df)})


def _row_count_equal(df: pd.DataFrame, kwargs: dict[str, Any]) -> Result | None:
    value = kwargs.get("value")
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return Result(len(df) == value, {"observed_value": len(df)})


_Handler = tuple[frozenset[str], Callable[[Any, dict[str, Any]], Result | None]]
_HANDLERS: dict[str, _Handler] = {
    "expect_column_values_to_not_be_null": (frozenset({"column", "mostly"}), _not_null),
    "expect_column_values_to_be_between": (_BETWEEN | {"mostly"}, _between),
    "expect_column_values_to_be_in_set": (frozenset({"column", "value_set", "mostly"}), _in_set),
    "expect_column_values_to_not_be_in_set": (
        frozenset({"column", "value_set", "mostly"}),
        lambda s, k: _in_set(s, k, negate=True),
    ),
    "expect_column_min_to_be_between": (_BETWEEN, _aggregate("min")),
    "expect_column_max_to_be_between": (_BETWEEN, _aggregate("max")),
    "expect_column_mean_to_be_between": (_BETWEEN, _aggregate("mean")),
    "expect_table_row_count_to_be_between": (frozenset({"min_value", "max_value"}), _row_count),
    "expect_table_row_count_to_equal": (frozenset({"value"}), _row_count_equal),
}
