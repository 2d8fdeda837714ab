"""The policy's estimator behind a preprocessing pipeline, imported only from allowed modules."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING

from retrain_core.training.errors import TrainingError

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from retrain_core.policy.schema import Model

ALWAYS_ALLOWED = ("sklearn",)


class EstimatorNotAllowed(TrainingError):
    """The policy names an estimator outside scikit-learn and the project's allow-list."""


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
    # dense always: a mostly-zero one-hot block would come out sparse (under 30 % non-zero),
    # which estimators such as HistGradientBoosting refuse
    preprocess = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])


def _under(module: str, prefixes: Iterable[str]) -> bool:
    """True when a module is one of the prefixes or inside one of them."""
    return any(module == p or module.startswith(p + ".") for p in prefixes)
