"""Fit the policy's pipeline on labelled rows; a TrainingError says why it cannot."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from retrain_core.training.errors import TrainingError
from retrain_core.training.pipeline import build_pipeline
from retrain_core.training.split import labelled

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from retrain_core.policy.schema import Model


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


def _example(X: pd.DataFrame, model: Model) -> pd.DataFrame:
    """A few training rows, numeric columns as float64 so the signature accepts missing values."""
    example = X.head(5).copy()
    for column in model.features.numeric:
        example[column] = example[column].astype("float64")
    return example.reset_index(drop=True)
