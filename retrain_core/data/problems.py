"""Bad data, as sentences: what makes a loaded window unusable for the policy (pure, no I/O).

The monitor records these as a blocked decision instead of raising. An empty `since_last_check`
window means "no new data", not bad data: the monitor says so before calling `check_columns`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from retrain_core.data.sources import unique
from retrain_core.data.windows import parse_timestamps
from retrain_core.policy.schema import Policy

if TYPE_CHECKING:
    import pandas as pd

Role = Literal["reference", "current", "labels"]
_NAMES = {
    "reference": "the reference window",
    "current": "the current window",
    "labels": "the label source",
}


def required_columns(policy: Policy) -> list[str]:
    """Columns to read from the reference and current sources: features, target, time, join key."""
    columns = [*policy.model.features.all, policy.model.target]
    if policy.data.timestamp is not None:
        columns.append(policy.data.timestamp)
    if policy.data.labels is not None:
        columns.append(policy.data.labels.join_on)
    return unique(columns)


def expected_columns(policy: Policy, role: Role = "current") -> list[str]:
    """Columns a window must have: the current window may lack the target (labels come later)."""
    if role == "labels":
        assert policy.data.labels is not None, "the policy has no labels source"
        return [policy.data.labels.join_on, policy.model.target]
    columns = list(policy.model.features.all)
    if role == "reference":
        columns.append(policy.model.target)
    if policy.data.timestamp is not None:
        columns.append(policy.data.timestamp)
    if role == "current" and policy.data.labels is not None:
        columns.append(policy.data.labels.join_on)
    return unique(columns)


def check_columns(frame: pd.DataFrame, policy: Policy, role: Role = "current") -> list[str]:
    """Problems that block a decision: empty window, missing column, wrong type, no labels."""
    name = _NAMES[role]
    if len(frame) == 0:
        return [f"{name} is empty"]
    problems = [
        f"{name} has no column {column!r}"
        for column in expected_columns(policy, role)
        if column not in frame.columns
    ]
    numeric = [] if role == "labels" else list(policy.model.features.numeric)
    if policy.model.task == "regression":
        numeric.append(policy.model.target)
    problems += [
        problem
        for column in numeric
        if column in frame.columns and (problem := _not_numeric(frame[column], column, name))
    ]
    stamp = policy.data.timestamp
    if role != "labels" and stamp in frame.columns and parse_timestamps(frame[stamp]) is None:
        problems.append(
            f"{name}: the timestamp column {stamp!r} is not parseable as datetimes "
            "(store a datetime type or ISO 8601 text)"
        )
    target = policy.model.target
    if role != "current" and target in frame.columns and frame[target].isna().all():
        problems.append(f"{name} has no labels: every {target!r} value is null")
    return problems


def _not_numeric(values: pd.Series, column: str, name: str) -> str | None:
    """A sentence when a column that must be numeric is not (all-null columns pass here)."""
    import pandas as pd
    from pandas.api import types

    if types.is_numeric_dtype(values) or values.isna().all():
        return None
    converted = pd.to_numeric(values, errors="coerce")
    bad = values[converted.isna() & values.notna()]
    example = f" such as {bad.iloc[0]!r}" if len(bad) else ""
    return f"{name}: column {column!r} should be numeric but holds {values.dtype} values{example}"
