"""Train a challenger: the policy's estimator behind a preprocessing pipeline, fit on a window."""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retrain_core.policy.base import greater_is_better, metrics_for

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from retrain_core.policy.schema import Model, Policy

ALWAYS_ALLOWED = ("sklearn",)
REFERENCE_ROWS = 5000  # rows of a champion's training data kept as its drift reference


class TrainingError(RuntimeError):
    """Training could not produce a model; the message says why, for people."""


class EstimatorNotAllowed(TrainingError):
    """The policy names an estimator outside scikit-learn and the project's allow-list."""


@dataclass(frozen=True)
class FittedModel:
    """A fitted pipeline with what it was trained on."""

    pipeline: Pipeline
    model: Model
    n_rows: int
    classes: tuple[Any, ...] | None
    input_example: pd.DataFrame

    @property
    def estimator_class(self) -> str:
        """The import path of the estimator, as the policy names it."""
        return self.model.estimator.class_


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
    rows = labelled(select_window(frame, training.window, stamp), model.target)
    stratify = model.target if model.task == "classification" else None
    minimum = training.min_change_rows if training.from_change else 0
    train, holdout = _split_after_change(policy, rows, since, minimum, stratify)
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
    )


Candidate = tuple["FittedModel", dict[str, float], pd.DataFrame]


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
    return fitted, evaluate(fitted.pipeline, holdout, policy.model, names), rows


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


def resolve_estimator(path: str, allowed_modules: Iterable[str] = ()) -> type:
    """Import an estimator class, refusing anything outside sklearn and the allow-list."""
    prefixes = (*ALWAYS_ALLOWED, *allowed_modules)
    module_name, _, class_name = path.rpartition(".")
    if not module_name or any(part.startswith("_") for part in path.split(".")):
        raise EstimatorNotAllowed(f"estimator {path!r}: name a public class by its import path")
    if not _under(module_name, prefixes):
        raise EstimatorNotAllowed(
            f"estimator {path!r} is not allowed: only sklearn and the modules listed in "
            f"[tool.retrain] allowed_estimator_modules ({', '.join(prefixes)})"
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise TrainingError(f"estimator {path!r} cannot be imported: {exc}") from exc
    is_estimator = isinstance(cls, type) and all(
        hasattr(cls, attr) for attr in ("fit", "predict", "get_params")
    )
    if not is_estimator or not _under(cls.__module__, prefixes):
        raise EstimatorNotAllowed(f"{path!r} is not a scikit-learn compatible estimator class")
    return cls


def build_pipeline(
    model: Model, allowed_modules: Iterable[str] = (), random_state: int | None = None
) -> Pipeline:
    """Preprocess numeric and categorical features, then the policy's estimator with its params."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cls = resolve_estimator(model.estimator.class_, allowed_modules)
    params = dict(model.estimator.params)
    if random_state is not None and "random_state" in inspect.signature(cls).parameters:
        params.setdefault("random_state", random_state)
    try:
        estimator = cls(**params)
    except TypeError as exc:
        raise TrainingError(f"estimator {model.estimator.class_}: bad params: {exc}") from exc
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("encode", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    transformers = [
        (name, steps, columns)
        for name, steps, columns in (
            ("numeric", numeric, list(model.features.numeric)),
            ("categorical", categorical, list(model.features.categorical)),
        )
        if columns
    ]
    preprocess = ColumnTransformer(transformers, remainder="drop")
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])


def select_window(
    frame: pd.DataFrame, window: timedelta | None, timestamp: str | None
) -> pd.DataFrame:
    """Rows within `window` of the newest timestamp (all rows when no window is set)."""
    if window is None:
        return frame
    if timestamp is None or timestamp not in frame.columns:
        raise TrainingError(
            f"training.window needs a timestamp column (data.timestamp={timestamp})"
        )
    stamps = pd.to_datetime(frame[timestamp])
    return frame.loc[stamps >= stamps.max() - window]


def window_bounds(frame: pd.DataFrame, timestamp: str | None) -> tuple[str, str] | None:
    """The oldest and newest timestamps of a frame as ISO strings, or None without timestamps."""
    if timestamp is None or timestamp not in frame.columns or frame.empty:
        return None
    stamps = pd.to_datetime(frame[timestamp])
    return stamps.min().isoformat(), stamps.max().isoformat()


def _split_after_change(
    policy: Policy,
    rows: pd.DataFrame,
    since: datetime | None,
    minimum: int,
    stratify: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The holdout: the newest `training.holdout` share of the window; but for a retrain that
    answers a change, when that share would leave fewer than `minimum` rows of the change to
    train on (a change whose labels just arrived, a long window), the newest share of the rows
    from the change on, when that leaves `minimum` of them to train on and `gate.min_rows` to
    judge on (and, for a classifier, two classes on each side). Otherwise the challenger would
    be fit on old rows alone and judged on the new ones: a retrain that cannot help.
    """
    training, stamp = policy.training, policy.data.timestamp
    whole = split_holdout(rows, training.holdout, stamp, training.random_state, stratify)
    if since is None or minimum <= 0 or stamp is None or stamp not in rows.columns:
        return whole
    start = pd.Timestamp(since)
    if (pd.to_datetime(whole[0][stamp], utc=True) >= start).sum() >= minimum:
        return whole  # the change is already there to learn from
    after = pd.to_datetime(rows[stamp], utc=True) >= start
    recent = rows.loc[after]
    n_holdout = math.ceil(len(recent) * training.holdout)
    if len(recent) - n_holdout < minimum or n_holdout < policy.gate.min_rows:
        return whole
    trained, holdout = split_holdout(recent, training.holdout, stamp)  # its newest share
    if stratify is not None and min(trained[stratify].nunique(), holdout[stratify].nunique()) < 2:
        return whole
    return pd.concat([rows.loc[~after], trained]), holdout


def split_holdout(
    frame: pd.DataFrame,
    holdout: float,
    timestamp: str | None = None,
    random_state: int = 0,
    stratify: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off the newest `holdout` share by timestamp, else a seeded (stratified) shuffle."""
    n_holdout = math.ceil(len(frame) * holdout)
    if len(frame) < 2 or not 0 < n_holdout < len(frame):
        raise TrainingError(f"cannot split {len(frame)} rows into training and holdout sets")
    if timestamp is not None:
        if timestamp not in frame.columns:
            raise TrainingError(f"timestamp column {timestamp!r} is not in the training data")
        ordered = frame.iloc[np.argsort(pd.to_datetime(frame[timestamp]).to_numpy(), kind="stable")]
        return ordered.iloc[:-n_holdout], ordered.iloc[-n_holdout:]
    from sklearn.model_selection import train_test_split

    labels = frame[stratify] if stratify is not None else None
    if labels is not None:
        counts = labels.value_counts()
        if counts.min() < 2 or n_holdout < len(counts) or len(frame) - n_holdout < len(counts):
            labels = None
    train, test = train_test_split(
        frame, test_size=n_holdout, random_state=random_state, stratify=labels
    )
    return train, test


def since_change(
    rows: pd.DataFrame,
    timestamp: str | None,
    since: datetime | None,
    min_rows: int,
    classes_of: str | None = None,
) -> pd.DataFrame:
    """The rows from `since` on when at least `min_rows` (> 0) of them exist (and, for a
    classifier's target `classes_of`, at least two classes), else all rows."""
    if since is None or min_rows <= 0 or timestamp is None or timestamp not in rows.columns:
        return rows
    recent = rows.loc[pd.to_datetime(rows[timestamp], utc=True) >= pd.Timestamp(since)]
    if len(recent) < min_rows or (classes_of is not None and recent[classes_of].nunique() < 2):
        return rows
    return recent


def unseen_rows(
    holdout: pd.DataFrame, timestamp: str | None, trained_until: datetime | None
) -> pd.DataFrame:
    """The holdout rows newer than a champion's training data (all of them without timestamps)."""
    if timestamp is None or trained_until is None or timestamp not in holdout.columns:
        return holdout
    stamps = pd.to_datetime(holdout[timestamp], utc=True)
    return holdout.loc[stamps > pd.Timestamp(trained_until)]


def labelled(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows whose label has arrived (labels may lag the features)."""
    if target not in frame.columns:
        raise TrainingError(f"target column {target!r} is not in the training data")
    return frame.loc[frame[target].notna()]


def fit(
    model: Model,
    train: pd.DataFrame,
    *,
    name: str = "model",
    random_state: int | None = None,
    allowed_modules: Iterable[str] = (),
) -> FittedModel:
    """Fit the policy's pipeline on the training rows; a TrainingError says why it cannot."""
    missing = [c for c in (*model.features.all, model.target) if c not in train.columns]
    if missing:
        raise TrainingError(f"cannot train {name}: missing columns {', '.join(missing)}")
    rows = labelled(train, model.target)
    if rows.empty:
        raise TrainingError(f"cannot train {name}: the training window has no labelled rows")
    y = rows[model.target]
    if model.task == "classification" and y.nunique() < 2:
        raise TrainingError(
            f"cannot train {name}: the training window has a single class ({y.iloc[0]})"
        )
    pipeline = build_pipeline(model, allowed_modules, random_state)
    X = rows[model.features.all]
    try:
        pipeline.fit(X, y)
    except Exception as exc:  # any estimator's failure to fit is a training failure
        raise TrainingError(f"cannot train {name}: {type(exc).__name__}: {exc}") from exc
    classes = getattr(pipeline, "classes_", None)
    return FittedModel(
        pipeline=pipeline,
        model=model,
        n_rows=len(rows),
        classes=tuple(classes.tolist()) if classes is not None else None,
        input_example=_example(X, model),
    )


def evaluate(
    pipeline: Any, holdout: pd.DataFrame, model: Model, metrics: Sequence[str] | None = None
) -> dict[str, float]:
    """Score a fitted pipeline (challenger or champion) on the holdout; NaN when not computable."""
    rows = labelled(holdout, model.target)
    names = list(metrics) if metrics is not None else list(metrics_for(model.task))
    if rows.empty:
        return {name: math.nan for name in names}
    X, y_true = rows[model.features.all], rows[model.target].to_numpy()
    y_pred = pipeline.predict(X)
    proba = None
    if model.task == "classification" and hasattr(pipeline, "predict_proba"):
        proba = pipeline.predict_proba(X)
    classes = getattr(pipeline, "classes_", None)
    return {name: _score(name, y_true, y_pred, proba, classes) for name in names}


def _score(name: str, y_true: Any, y_pred: Any, proba: Any, classes: Any = None) -> float:
    """One metric, NaN when it cannot be computed (a single class in the holdout, say)."""
    from retrain_core.checks.performance import compute_metric

    try:
        return compute_metric(name, y_true, y_pred, proba, classes)
    except ValueError:
        return math.nan


def _example(X: pd.DataFrame, model: Model) -> pd.DataFrame:
    """A few training rows, numeric columns as float64 so the signature accepts missing values."""
    example = X.head(5).copy()
    for column in model.features.numeric:
        example[column] = example[column].astype("float64")
    return example.reset_index(drop=True)


def _under(module: str, prefixes: Iterable[str]) -> bool:
    """True when a module is one of the prefixes or inside one of them."""
    return any(module == p or module.startswith(p + ".") for p in prefixes)
