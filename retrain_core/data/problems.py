"""Bad data, as sentences: what makes a loaded window unusable for the policy (pure, no I/O).

The monitor records these as a blocked decision instead of raising. An empty `since_last_check`
window means "no new data", not bad data: the monitor says so before calling `check_columns`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from retrain_core.data.batches import Rules
from retrain_core.data.frames import unique
from retrain_core.data.timestamps import mixes_zones, parse_timestamps
from retrain_core.data.values import reference_kinds, value_problems
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


def check_columns(
    frame: pd.DataFrame, policy: Policy, role: Role = "current", name: str | None = None
) -> list[str]:
    """Problems that block a decision: empty window, missing column, wrong type, no labels.

    `name` says what the frame is in the sentences ("the batch day-03.parquet"); by default the
    role's window.
    """
    name = name or _NAMES[role]
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
    if role != "labels" and stamp is not None and stamp in frame.columns:
        problems += _timestamp_problems(frame[stamp], stamp, name)
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


def _timestamp_problems(values: pd.Series, stamp: str, name: str) -> list[str]:
    """Unparseable timestamps, or text that mixes zoned and zone-less times (ambiguous)."""
    if mixes_zones(values):
        return [
            f"{name}: the timestamp column {stamp!r} mixes times with and without a time zone "
            "(write every time in UTC, or every one with its offset)"
        ]
    if parse_timestamps(values) is None:
        return [
            f"{name}: the timestamp column {stamp!r} is not parseable as datetimes "
            "(store a datetime type or ISO 8601 text)"
        ]
    return []


def label_problems(
    frame: pd.DataFrame, policy: Policy, name: str, classes: Collection[str] | None = None
) -> list[str]:
    """Labels that would poison training: one key with conflicting labels, a class outside the
    policy's closed set.

    `classes` is the closed set (`data.labels.classes`, as `closed_classes` gives it); None (the
    default: no closed set) accepts any class: a class the champion never saw is a finding of the
    check (`data.labels.new_class_outcomes`), not bad data.
    """
    target = policy.model.target
    key = policy.data.labels.join_on if policy.data.labels is not None else None
    if key is not None and (key not in frame.columns or key == target):
        key = None  # no key to find conflicts by
    closed = classes is not None and policy.model.task == "classification"
    if target not in frame.columns or (key is None and not closed):
        return []
    rows = frame[[key, target]] if key is not None else frame[[target]]  # not every column
    labelled = rows[rows[target].notna()]
    problems = []
    if key is not None:
        problems += _conflicts(labelled[[key, target]].dropna(subset=[key]), key, target, name)
    if closed:
        assert classes is not None
        unseen = sorted(set(class_names(labelled[target])) - set(classes))
        if unseen:
            shown = ", ".join(repr(value) for value in unseen[:5])
            problems.append(
                f"{name}: {target!r} holds a class outside the closed set data.labels.classes: "
                f"{shown} (known: {', '.join(sorted(classes))})"
            )
    return problems


def class_names(values: pd.Series) -> list[str]:
    """The distinct non-null values as text, whole floats without ``.0`` (1.0 and 1 agree)."""
    return sorted({class_name(value) for value in values.dropna().unique()})


def class_name(value: object) -> str:
    """One class as text, as `class_names` writes it."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _conflicts(rows: pd.DataFrame, key: str, target: str, name: str) -> list[str]:
    """A sentence when some key carries two different labels in the same frame."""
    counts = rows.groupby(key, sort=True)[target].nunique()
    clashing = counts[counts > 1]
    if clashing.empty:
        return []
    first = clashing.index[0]
    values = sorted(class_names(rows.loc[rows[key] == first, target]))
    return [
        f"{name}: {len(clashing)} {key!r} values carry conflicting {target!r} labels, "
        f"such as {first!r} with {' and '.join(values)}"
    ]


def batch_rules(
    policy: Policy,
    role: Role,
    reference: pd.DataFrame | None = None,
    earlier: Callable[[str], str | None] | None = None,
    now: datetime | None = None,
) -> Rules:
    """How one batch of this role is judged: its columns, values (against the reference data's
    kinds when given) and labels (against the policy's closed set of classes, if it has one),
    whether its content is new, and (given the check's `now`) whether it holds rows stamped
    after `now` plus `data.future_tolerance`."""
    classes = closed_classes(policy)
    kinds = reference_kinds(policy, reference) if reference is not None else {}

    def problems(name: str, frame: pd.DataFrame) -> list[str]:
        found = check_columns(frame, policy, role, name)
        found = found or value_problems(frame, policy, name, kinds)
        return found or label_problems(frame, policy, name, classes)

    stamp = policy.data.timestamp if role != "labels" else None
    latest = now + policy.data.future_tolerance if now is not None and stamp else None
    return Rules(role, problems, earlier, stamp, latest)


def closed_classes(policy: Policy) -> list[str] | None:
    """The policy's closed set of classes as text (`data.labels.classes`), None when open."""
    labels = policy.data.labels
    if policy.model.task != "classification" or labels is None or labels.classes is None:
        return None
    return sorted(str(value) for value in labels.classes)


def reference_classes(policy: Policy, reference: pd.DataFrame) -> list[str] | None:
    """The reference's classes, for a classifier's unseen-class check (None otherwise)."""
    target = policy.model.target
    if policy.model.task != "classification" or target not in reference.columns:
        return None
    classes = class_names(reference[target])
    return classes or None
