"""Checks pydantic cannot do alone, run on the raw YAML data so they add to its errors.

Each check tolerates any shape (a wrong type is pydantic's to report) and returns findings whose
key paths point into the YAML document. Nothing from a policy is evaluated or constructed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from retrain_core.base.settings import Settings
from retrain_core.policy.base import METRICS, metrics_for
from retrain_core.policy.estimators import estimator_findings
from retrain_core.policy.expectations import KNOWN_EXPECTATIONS, argument_problems
from retrain_core.policy.finding import Finding, did_you_mean
from retrain_core.policy.registry import KINDS
from retrain_core.policy.source_kinds import SOURCE_KINDS
from retrain_core.policy.yamlio import Path_

TASKS = ("classification", "regression")
_INF = math.inf
_RANGES = {metric.name: (metric.low, metric.high) for metric in METRICS.values()}
NEEDS_TIMESTAMP = "needs data.timestamp (the column holding each row's time)"
_SOURCES = (("data", "reference"), ("data", "current"), ("data", "labels"), ("training", "source"))


def check_policy(data: Any, settings: Settings) -> list[Finding]:
    """Every semantic problem of a policy document (empty when it is not a mapping)."""
    if not isinstance(data, dict):
        return []
    return [
        *feature_findings(data),
        *trigger_findings(data),
        *metric_findings(data),
        *timestamp_findings(data),
        *probation_findings(data),
        *stage_findings(data),
        *column_role_findings(data),
        *closed_class_findings(data),
        *range_findings(data),
        *expectation_findings(data),
        *source_findings(data, settings),
        *estimator_findings(data, settings),
    ]


def feature_findings(data: dict[str, Any]) -> list[Finding]:
    """The target listed as a feature, and duplicate features."""
    target = get(data, "model", "target")
    seen: dict[str, str] = {}
    findings = []
    for kind in ("numeric", "categorical"):
        for index, name in strings(get(data, "model", "features", kind)):
            path: Path_ = ("model", "features", kind, index)
            if name == target:
                findings.append(Finding(path, f"target {name!r} is also listed as a feature"))
            elif name in seen:
                findings.append(Finding(path, f"duplicate feature {name!r} (also in {seen[name]})"))
            seen.setdefault(name, f"model.features.{kind}")
    return findings


def trigger_findings(data: dict[str, Any]) -> list[Finding]:
    """Each trigger's own checks, declared by its kind (`retrain_core.kinds`): the kind's
    settings against the rest of the policy (a metric against model.task, drift features
    against the model's, a freshness trigger without data.timestamp)."""
    findings = []
    for path, trigger in _triggers(data):
        for key, settings in trigger.items():
            kind = KINDS.get(str(key))
            if kind is not None and kind.findings is not None:
                findings += kind.findings(settings, data, (*path, key))
    return findings


def metric_findings(data: dict[str, Any]) -> list[Finding]:
    """The gate metric when it does not fit model.task (a trigger's own: `trigger_findings`)."""
    task = get(data, "model", "task")
    if task not in TASKS:
        return []
    findings = []
    unfit = unfit_metric(get(data, "gate", "metric"), task)
    if unfit:
        findings.append(Finding(("gate", "metric"), unfit))
    return findings


def timestamp_findings(data: dict[str, Any]) -> list[Finding]:
    """Time-based settings used without `data.timestamp` (a trigger's own: `trigger_findings`)."""
    if get(data, "data", "timestamp"):
        return []
    needs = NEEDS_TIMESTAMP
    findings = []
    if get(data, "training", "window") is not None:
        findings.append(Finding(("training", "window"), f"a training window {needs}"))
    if get(data, "data", "current", "window", "last") is not None:
        findings.append(Finding(("data", "current", "window", "last"), f"a last: window {needs}"))
    return findings


def probation_findings(data: dict[str, Any]) -> list[Finding]:
    """Probation compares live labelled rows by time: it needs labels and `data.timestamp`."""
    if get(data, "promotion", "probation") is None:
        return []
    path: Path_ = ("promotion", "probation")
    findings = []
    if not get(data, "data", "timestamp"):
        findings.append(Finding(path, "probation needs data.timestamp (when each row was served)"))
    if get(data, "data", "labels") is None:
        findings.append(Finding(path, "probation needs data.labels (the live rows' outcomes)"))
    return findings


def stage_findings(data: dict[str, Any]) -> list[Finding]:
    """Stages compare live labelled rows by time, as probation does."""
    if not get(data, "promotion", "stages"):
        return []
    path: Path_ = ("promotion", "stages")
    findings = []
    if not get(data, "data", "timestamp"):
        findings.append(Finding(path, "stages need data.timestamp (when each row was served)"))
    if get(data, "data", "labels") is None:
        findings.append(Finding(path, "stages need data.labels (the live rows' outcomes)"))
    return findings


def column_role_findings(data: dict[str, Any]) -> list[Finding]:
    """The target, the timestamp and the label join key must be three different columns."""
    target = get(data, "model", "target")
    timestamp = get(data, "data", "timestamp")
    join_on = get(data, "data", "labels", "join_on")
    findings = []
    if isinstance(timestamp, str) and timestamp == target:
        findings.append(Finding(("data", "timestamp"), f"{timestamp!r} is also the target"))
    if isinstance(join_on, str) and join_on in (target, timestamp):
        role = "the target" if join_on == target else "data.timestamp"
        findings.append(Finding(("data", "labels", "join_on"), f"{join_on!r} is also {role}"))
    return findings


def closed_class_findings(data: dict[str, Any]) -> list[Finding]:
    """A closed set of classes (`data.labels.classes`) only fits a classifier."""
    classes, task = get(data, "data", "labels", "classes"), get(data, "model", "task")
    if classes is None or task != "regression":
        return []
    message = "a closed set of classes needs model.task: classification (this model regresses)"
    return [Finding(("data", "labels", "classes"), message)]


def range_findings(data: dict[str, Any]) -> list[Finding]:
    """Gate thresholds outside the range their metric can take (accuracy above 1, a negative
    rmse); a trigger's own: `trigger_findings`."""
    findings = []
    gate_metric = get(data, "gate", "metric")
    findings += in_range(("gate", "min"), get(data, "gate", "min"), gate_metric)
    findings += step_in_range(
        ("gate", "min_improvement"), get(data, "gate", "min_improvement"), gate_metric
    )
    return findings


def in_range(path: Path_, value: Any, metric: Any) -> list[Finding]:
    """A metric value outside [0, 1] (scores), above 1 (r2) or below 0 (errors)."""
    if not is_number(value) or not isinstance(metric, str) or metric not in _RANGES:
        return []
    low, high = _RANGES[metric]
    if low <= value <= high:
        return []
    shown = f"between {low:g} and {high:g}" if high != _INF else f">= {low:g}"
    shown = shown if low != -_INF else f"<= {high:g}"
    return [Finding(path, f"{metric} is {shown}, got {value:g}")]


def step_in_range(path: Path_, value: Any, metric: Any) -> list[Finding]:
    """A difference of a metric bounded by 1 must be smaller than 1."""
    if not is_number(value) or not isinstance(metric, str) or metric not in _RANGES:
        return []
    if _RANGES[metric][1] != 1:
        return []
    if abs(value) < 1:
        return []
    return [Finding(path, f"{metric} is at most 1: a difference must be between -1 and 1, got "
                          f"{value:g}")]  # fmt: skip


def is_number(value: Any) -> bool:
    """True for a finite int or float (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def expectation_findings(data: dict[str, Any]) -> list[Finding]:
    """Unknown expectations and arguments that are unknown, of the wrong kind or evaluated as
    code (from a static table of great-expectations' classes: no GE import)."""
    items = data.get("validation")
    findings = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        name, kwargs = next(iter(item.items()))
        if str(name) not in KNOWN_EXPECTATIONS:
            hint = did_you_mean(str(name), sorted(KNOWN_EXPECTATIONS))
            findings.append(Finding(("validation", index), f"unknown expectation {name!r}{hint}"))
            continue
        for key, message in argument_problems(str(name), kwargs):
            path: Path_ = (
                ("validation", index, name) if key is None else ("validation", index, name, key)
            )
            findings.append(Finding(path, message))
    return findings


def source_findings(data: dict[str, Any], settings: Settings) -> list[Finding]:
    """Each source's checks, declared by the source kinds (`retrain_core.data.sources`): paths
    outside the data roots, credentials in URLs, SQL that is not one SELECT."""
    findings = []
    for place in _SOURCES:
        source = get(data, *place)
        if not isinstance(source, dict):
            continue
        for kind in SOURCE_KINDS.values():
            if kind.findings is not None:
                findings += kind.findings(source, settings, place)
    return findings


def unfit_metric(metric: Any, task: str) -> str | None:
    """Why a known metric does not fit the task, or None."""
    if not isinstance(metric, str) or metric not in METRICS or metric in metrics_for(task):
        return None
    return f"metric {metric!r} does not fit a {task} model (use {', '.join(metrics_for(task))})"


def _triggers(data: dict[str, Any]) -> Iterator[tuple[Path_, dict[str, Any]]]:
    """Each trigger mapping under triggers.any, .all or .watch, with its key path."""
    for combine in ("any", "all", "watch"):
        items = get(data, "triggers", combine)
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict):
                yield ("triggers", combine, index), item


def strings(items: Any) -> Iterator[tuple[int, str]]:
    """(index, text) for the strings of a list; nothing for anything else."""
    for index, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, str):
            yield index, item


def get(data: Any, *path: str) -> Any:
    """The value at `path` in nested mappings, or None when any step is missing."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
