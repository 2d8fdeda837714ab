"""Values that poison a model although every column is there: no values, infinities, wrong kinds.

Pure functions on one batch, used by `problems.batch_rules`: a feature with no value at all, a
number column holding infinities, a categorical column whose values are another kind than in the
reference data (numbers where it had text), or a column mixing kinds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrain_core.policy.schema import Policy

if TYPE_CHECKING:
    import pandas as pd

_KINDS = {
    "string": "text",
    "integer": "number",
    "floating": "number",
    "mixed-integer-float": "number",
    "decimal": "number",
    "boolean": "boolean",
    "empty": "empty",
}
MIXED = ("mixed", "mixed-integer")


def value_kind(values: pd.Series) -> str:
    """text, number, boolean, datetime, empty, or pandas' own name for anything else (mixed...)."""
    import pandas as pd
    from pandas.api import types

    if isinstance(values.dtype, pd.CategoricalDtype):
        return value_kind(pd.Series(values.cat.categories))
    if types.is_bool_dtype(values):
        return "boolean"
    if types.is_numeric_dtype(values):
        return "number"
    if types.is_datetime64_any_dtype(values):
        return "datetime"
    inferred = types.infer_dtype(values, skipna=True)
    return _KINDS.get(inferred, inferred)


def reference_kinds(policy: Policy, reference: pd.DataFrame) -> dict[str, str]:
    """The kind of each categorical feature in the reference data."""
    return {
        column: value_kind(reference[column])
        for column in policy.model.features.categorical
        if column in reference.columns and reference[column].notna().any()
    }


def value_problems(
    frame: pd.DataFrame, policy: Policy, name: str, kinds: dict[str, str]
) -> list[str]:
    """Sentences for features with no value, infinite numbers, and kinds unlike the reference."""
    if frame.empty:
        return []
    problems = []
    features = [c for c in policy.model.features.all if c in frame.columns]
    problems += [
        f"{name}: column {column!r} has no values (all null)"
        for column in features
        if frame[column].isna().all()
    ]
    numeric = [c for c in policy.model.features.numeric if c in frame.columns]
    if policy.model.task == "regression" and policy.model.target in frame.columns:
        numeric.append(policy.model.target)
    problems += [p for column in numeric if (p := _infinite(frame[column], column, name))]
    for column in policy.model.features.categorical:
        if column in frame.columns and frame[column].notna().any():
            problems += _kind_problems(frame[column], column, name, kinds.get(column))
    return problems


def _infinite(values: pd.Series, column: str, name: str) -> str | None:
    import numpy as np
    from pandas.api import types

    if not types.is_numeric_dtype(values) or types.is_bool_dtype(values):
        return None
    count = int(np.isinf(values.to_numpy(dtype="float64", na_value=np.nan)).sum())
    if not count:
        return None
    return f"{name}: column {column!r} holds infinite values ({count} of {len(values)})"


def _kind_problems(values: pd.Series, column: str, name: str, expected: str | None) -> list[str]:
    kind = value_kind(values)
    if kind in MIXED:
        return [f"{name}: column {column!r} mixes kinds of values (text and numbers, ...)"]
    if expected is not None and expected not in MIXED and kind != expected:
        return [f"{name}: column {column!r} holds {kind} values where the reference has {expected}"]
    return []
