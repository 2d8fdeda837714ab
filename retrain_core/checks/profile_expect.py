"""Expectations answered from a window's merged batch profile, and the rest streamed over chunks.

From a profile (`checks.batch_profile`), exactly: not-null (null counts), in-set and not-in-set
on a counted column (value counts), between when every value is inside the bounds or nothing
(mostly 1) may be outside (min and max), the min and max between, the row count. Anything else
returns None: `streamed` runs a column map expectation chunk by chunk through the vectorised
expectations (`checks.fastexpect`) and adds the counts, one chunk in memory at a time.
Expectations across rows (uniqueness, compound columns) still need the window's rows.

`window_expectations` is how the monitor judges a window known by its merged profile: the
expectations a profile answers on the whole window, every other one on the rows that arrived
since the last check (the batches judged before passed it when they arrived).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.checks.fastexpect import Result, fast_result

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.checks.batch_profile import BatchProfile

_MAPS = frozenset({
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
})  # fmt: skip


def from_profile(window: BatchProfile, name: str, kwargs: dict[str, Any]) -> Result | None:
    """The expectation's success and counts from the profile, or None when it needs the rows."""
    rows = window.rows
    if name == "expect_table_row_count_to_be_between":
        return _in_bounds(rows, kwargs)
    if name == "expect_table_row_count_to_equal":
        return Result(rows == kwargs.get("value"), {"observed_value": rows})
    column = kwargs.get("column")
    if not isinstance(column, str) or column not in window.nulls:
        return None
    nulls, mostly = window.nulls[column], kwargs.get("mostly", 1.0)
    if not isinstance(mostly, int | float) or set(kwargs) - {"column", "mostly", "value_set",
                                                             "min_value", "max_value"}:  # fmt: skip
        return None
    if name == "expect_column_values_to_not_be_null":
        return _map(rows, nulls, rows, mostly)
    if name in ("expect_column_min_to_be_between", "expect_column_max_to_be_between"):
        value = (window.low if "min" in name.split("_")[2] else window.high).get(column)
        return None if value is None else _in_bounds(value, kwargs)
    if name in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        counts, value_set = window.counts.get(column), kwargs.get("value_set")
        if counts is None or not isinstance(value_set, list | tuple | set):
            return None
        wanted = set(value_set)
        inside = sum(c for v, c in counts.items() if v in wanted)
        unexpected = inside if "not_be" in name else rows - nulls - inside
        return _map(rows, unexpected, rows - nulls, mostly)
    if name == "expect_column_values_to_be_between":
        low, high = window.low.get(column), window.high.get(column)
        if low is None or high is None:
            return _map(rows, 0, rows - nulls, mostly)
        lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
        if (lo is None or low >= lo) and (hi is None or high <= hi):
            return _map(rows, 0, rows - nulls, mostly)
        if mostly >= 1.0:  # one value outside is enough
            return Result(False, {"element_count": rows, "observed_value": [low, high]})
    return None


def window_expectations(
    window: BatchProfile, new_rows: pd.DataFrame, expectations: list[tuple[str, dict[str, Any]]]
) -> list[CheckOutcome]:
    """One outcome per distinct expectation: from the window's profile when it answers, else
    on `new_rows` (a pass that says so when no row is new)."""
    from retrain_core.checks.validation import check_name, outcome_of, run_expectations

    unique = list({(n, repr(sorted(k.items()))): (n, k) for n, k in expectations}.values())
    answered: dict[int, CheckOutcome] = {}
    for index, (name, kwargs) in enumerate(unique):
        result = from_profile(window, name, kwargs)
        if result is not None:
            answered[index] = outcome_of(name, kwargs, result)
    rest = [item for index, item in enumerate(unique) if index not in answered]
    if rest and new_rows.empty:
        reason = "judged on the new rows (a profile cannot answer it): none since the last check"
        rows = [CheckOutcome(check_name(n, k), Status.PASS, reason) for n, k in rest]
    else:
        rows = run_expectations(new_rows, rest) if rest else []
    on_rows = iter(rows)
    return [answered[i] if i in answered else next(on_rows) for i in range(len(unique))]


def streamed(chunks: Iterable[pd.DataFrame], name: str, kwargs: dict[str, Any]) -> Result | None:
    """A column map expectation over the chunks of a window, one chunk at a time: the counts of
    each chunk's vectorised result added up, success judged on the sums. None when it is not one
    `fast_result` can answer."""
    if name not in _MAPS:
        return None
    total = unexpected = missing = 0
    for chunk in chunks:
        result = fast_result(chunk, name, kwargs)
        if result is None:
            return None
        total += int(result.result["element_count"])
        unexpected += int(result.result["unexpected_count"])
        missing += int(result.result.get("missing_count", 0))
    nonnull = total if name == "expect_column_values_to_not_be_null" else total - missing
    return _map(total, unexpected, nonnull, float(kwargs.get("mostly", 1.0)))


def _map(total: int, unexpected: int, nonnull: int, mostly: float) -> Result:
    success = total == 0 or nonnull == 0 or (nonnull - unexpected) / nonnull >= mostly
    share = unexpected / nonnull * 100 if nonnull else None
    return Result(bool(success), {"element_count": total, "unexpected_count": unexpected,
                                  "unexpected_percent": share})  # fmt: skip


def _in_bounds(value: Any, kwargs: dict[str, Any]) -> Result:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    above = low is None or (value > low if kwargs.get("strict_min") else value >= low)
    below = high is None or (value < high if kwargs.get("strict_max") else value <= high)
    return Result(bool(above and below), {"observed_value": value})
