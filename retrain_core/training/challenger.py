"""Train a challenger: window, split, fit and score, the policy's whole training step."""

from __future__ import annotations

import math
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

import pandas as pd

from retrain_core.policy.base import greater_is_better, metrics_for
from retrain_core.training.errors import TrainingError
from retrain_core.training.fit import FittedModel, fit
from retrain_core.training.sample import bounded_sample
from retrain_core.training.scoring import score_on
from retrain_core.training.split import (
    labelled,
    select_window,
    since_change,
    split_after_change,
    window_bounds,
)

if TYPE_CHECKING:
    from retrain_core.policy.schema import Policy

REFERENCE_ROWS = 5000  # rows of a champion's training data kept as its drift reference


@dataclass(frozen=True)
class TrainingResult:
    """A challenger with the holdout it was scored on, its scores and the window it saw."""

    fitted: FittedModel
    holdout: pd.DataFrame
    metrics: dict[str, float]
    window: tuple[str, str] | None
    n_train: int
    n_holdout: int
    rows: pd.DataFrame | None = None  # the rows the challenger was fit on (its drift reference)
    n_window: int = 0  # labelled rows in the window, before `training.max_rows` sampled them


def train_challenger(
    policy: Policy,
    frame: pd.DataFrame,
    allowed_modules: Iterable[str] = (),
    since: datetime | None = None,
) -> TrainingResult:
    """Window, split, fit and score: a policy's whole training step on its loaded data.

    `since` is the change the retrain answers (`RetrainDecision.train_since`). With
    `training.from_change` and at least `min_change_rows` labelled rows from then on, a second
    candidate is fit on those rows alone, and the one scoring better on the shared holdout (the
    newest rows, which neither saw) is the challenger: after an abrupt change the old rows
    mislead, on a noisy stream they help, and the holdout tells which. When the window's holdout
    would take (nearly) every row of the change, it is the newest share of the changed rows
    instead, so the challenger has something of the change to learn from.
    """
    model, training, stamp = policy.model, policy.training, policy.data.timestamp
    window = labelled(select_window(frame, training.window, stamp), model.target)
    target = model.target if model.task == "classification" else None
    rows = bounded_sample(window, training.max_rows, target, stamp, training.random_state)
    stratify = model.target if model.task == "classification" else None
    minimum = training.min_change_rows if training.from_change else 0
    train, holdout = split_after_change(policy, rows, since, minimum, stratify)
    names = list(dict.fromkeys([policy.gate.metric, *metrics_for(model.task)]))
    fit_on = partial(
        _candidate, policy, holdout, names, random_state=training.random_state,
        allowed_modules=allowed_modules,
    )  # fmt: skip
    best = fit_on(train)
    recent = since_change(train, stamp, since, minimum, stratify)
    if len(recent) < len(train):
        with suppress(TrainingError):  # the whole window's candidate still stands
            best = _better(policy.gate.metric, best, fit_on(recent))
    fitted, metrics, used = best
    return TrainingResult(
        fitted=fitted,
        holdout=holdout,
        metrics=metrics,
        window=window_bounds(pd.concat([used, holdout]), stamp),
        n_train=len(used),
        n_holdout=len(holdout),
        rows=used,
        n_window=len(window),
    )


Candidate = tuple[FittedModel, dict[str, float], pd.DataFrame]


def _candidate(
    policy: Policy,
    holdout: pd.DataFrame,
    names: list[str],
    rows: pd.DataFrame,
    *,
    random_state: int,
    allowed_modules: Iterable[str],
) -> Candidate:
    """Fit on `rows` and score on the holdout."""
    fitted = fit(
        policy.model, rows, name=policy.name, random_state=random_state,
        allowed_modules=allowed_modules,
    )  # fmt: skip
    return fitted, score_on(fitted.pipeline, holdout, policy.model, names), rows


def _better(metric: str, window: Candidate, recent: Candidate) -> Candidate:
    """The candidate with the better holdout score; a tie goes to the one trained on the recent
    rows alone (it knows the data as it is now, and becomes the drift reference)."""
    a, b = window[1][metric], recent[1][metric]
    if math.isnan(b) or (not math.isnan(a) and (a > b if greater_is_better(metric) else a < b)):
        return window
    return recent


def reference_sample(
    policy: Policy, rows: pd.DataFrame | None, max_rows: int = REFERENCE_ROWS
) -> pd.DataFrame:
    """A bounded sample of a model's training rows (the newest), kept as its drift reference."""
    if rows is None:
        raise TrainingError("the training result carries no training rows")
    columns = [c for c in (*policy.model.features.all, policy.model.target) if c in rows.columns]
    stamp = policy.data.timestamp
    if stamp is not None and stamp in rows.columns:
        columns.append(stamp)
        rows = rows.sort_values(stamp, kind="stable")
    return rows[columns].tail(max_rows).reset_index(drop=True)
