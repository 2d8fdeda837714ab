"""The columns a policy names, where it names them, and which of them its data lacks (pure).

A policy names columns in its model (features, target), its data section (timestamp, the label
join key) and its expectations (`column`, `column_A`, `column_list`, ...). A trigger kind's
columns are the model's (a drift rule's `features` must be model features). Each is expected in
one or more sources (`ROLES`); a column that no file of any of those sources holds is the
policy's mistake, not the data's: `column_findings` reports it at its key path with a
did-you-mean from the columns the data has. `retrain validate` runs it on the data it can see,
and the monitor before it judges any batch (`retrain_core.data.columns` reads the columns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from retrain_core.policy.finding import Finding, did_you_mean
from retrain_core.policy.schema import Policy
from retrain_core.policy.yamlio import Path_

ROLES = ("reference", "current", "labels")
# The arguments of an expectation that name one column, or a list of them.
_ONE_COLUMN = ("column", "column_A", "column_B")
_COLUMN_LISTS = ("column_list", "column_set")


@dataclass(frozen=True)
class Named:
    """A column the policy names: where (key path), which, and the sources that may hold it."""

    path: Path_
    column: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Seen:
    """The columns of the files of one source that could be read: how many files, which columns."""

    files: int
    columns: frozenset[str]


def named_columns(policy: Policy) -> list[Named]:
    """Every column the policy names, in the order of the file."""
    both = ("reference", "current")
    named = [
        Named(("model", "features", kind, index), column, both)
        for kind in ("numeric", "categorical")
        for index, column in enumerate(getattr(policy.model.features, kind))
    ]
    labels = policy.data.labels
    named.append(Named(("model", "target"), policy.model.target, ("reference", "labels")))
    if policy.data.timestamp is not None:
        named.append(Named(("data", "timestamp"), policy.data.timestamp, both))
    if labels is not None:
        named.append(Named(("data", "labels", "join_on"), labels.join_on, ("current", "labels")))
    for index, stage in enumerate(policy.promotion.stages):
        if stage.canary is not None:
            key_path = ("promotion", "stages", index, "canary", "key")
            named.append(Named(key_path, stage.canary.key, ("current",)))
    for index, (name, kwargs) in enumerate(policy.expectations):
        place = ("validation", index, name)
        for key in _ONE_COLUMN:
            if isinstance(kwargs.get(key), str):
                named.append(Named((*place, key), kwargs[key], both))
        for key in _COLUMN_LISTS:
            items = kwargs.get(key)
            for item, column in enumerate(items if isinstance(items, list) else []):
                if isinstance(column, str):
                    named.append(Named((*place, key, item), column, both))
    return named


def column_findings(named: list[Named], seen: Mapping[str, Seen]) -> list[Finding]:
    """The named columns that no file of their sources holds (sources not seen are not judged).

    Each finding says what data was seen and the closest column it has, if any.
    """
    known = sorted({column for found in seen.values() for column in found.columns})
    findings = []
    for item in named:
        sources = [(role, seen[role]) for role in item.roles if role in seen]
        if not sources or any(item.column in found.columns for _, found in sources):
            continue
        where = ", ".join(_files(role, found.files) for role, found in sources)
        hint = did_you_mean(item.column, known)
        message = f"no column {item.column!r} in the data ({where}){hint}"
        findings.append(Finding(item.path, message))
    return findings


def _files(role: str, count: int) -> str:
    """`the reference`, `4 current files`, `1 labels file`."""
    if role == "reference" and count == 1:
        return "the reference"
    return f"{count} {role} {'file' if count == 1 else 'files'}"
