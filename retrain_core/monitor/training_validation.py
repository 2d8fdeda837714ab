"""Validate training rows: the quality expectations on the part of them no check judged.

The expectations run once per batch, by the check that judges it (training reuses its verdict);
what no check saw (the reference, batches that arrived since, labels joined later) is read here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from retrain_core.data import check_columns
from retrain_core.monitor.training_data import TrainingData
from retrain_core.policy.schema import Policy

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Validation:
    """What validating training data found: its problems, how many rows the suite read, and the
    verdict keys of the rows that passed (`verdict_key`: the same rows need no second run)."""

    problems: list[str]
    rows: int = 0
    passed: tuple[str, ...] = ()


def training_data_problems(
    policy: Policy, data: TrainingData, passed: Collection[str] = ()
) -> Validation:
    """Why these rows must not be trained on: bad columns or failed expectations.

    The expectations read only what no check judged (`_unjudged_parts`). A suite that runs
    great-expectations itself does not read rows again whose verdict key is in `passed`; the
    vectorized expectations (`fastexpect`) cost less than the key, and just run.
    """
    problems = check_columns(data.frame, policy, "reference")
    if problems or not policy.expectations:
        return Validation(problems)
    from retrain_core.base.outcome import Status
    from retrain_core.checks.fastexpect import vectorized
    from retrain_core.checks.validation import run_expectations, verdict_key

    rows, keys = 0, []
    for frame, suite in _unjudged_parts(policy, data):
        slow = not all(vectorized(name, kwargs) for name, kwargs in suite)
        key = verdict_key(frame, suite) if slow else ""
        if key and key in passed:
            continue
        rows += len(frame)
        failed = [o.reason for o in run_expectations(frame, suite) if o.status is not Status.PASS]
        problems += failed
        if key and not failed:
            keys.append(key)
    return Validation(problems, rows, tuple(keys))


def _unjudged_parts(
    policy: Policy, data: TrainingData
) -> list[tuple[pd.DataFrame, list[tuple[str, dict[str, Any]]]]]:
    """Each part of the suite with the rows it has not judged yet.

    A check judges a current batch's own columns: its verdict stands for the rows of that batch,
    but not for the labels joined to them later, which no check validated (the expectations that
    read the target of a policy with a label source read every row).
    """
    from retrain_core.checks.validation import columns_read

    if data.unjudged.all():  # nothing judged: every expectation reads every row, in one run
        return [(data.frame, policy.expectations)] if len(data.frame) else []
    target, later = policy.model.target, policy.data.labels is not None
    every_row = [e for e in policy.expectations if later and target in (columns_read([e]) or ())]
    by_batch = [e for e in policy.expectations if e not in every_row]
    unjudged = data.frame[data.unjudged].reset_index(drop=True)
    parts = [(unjudged, by_batch), (data.frame, every_row)]
    return [(frame, suite) for frame, suite in parts if suite and len(frame)]
