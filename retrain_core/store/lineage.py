"""What training runs and registered versions record: params, lineage tags, requirements, format.

Pure helpers (no MLflow import here) for the training runs (`retrain_core.store.runs`) and the
versions `Registry.register` tags; the tag names are `retrain_core.store.tags`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from retrain_core.store.tags import (
    CHALLENGER_SCORE,
    CHAMPION_SCORE,
    GATE,
    GATE_METRIC,
    GATE_REASONS,
    WINDOW_END,
    WINDOW_START,
    clip,
)

if TYPE_CHECKING:
    from retrain_core.decide.promotion import PromotionDecision
    from retrain_core.policy.schema import Policy
    from retrain_core.training.challenger import TrainingResult

SAFE_TYPE_MODULES = ("sklearn", "numpy", "scipy")


def gate_tags(decision: PromotionDecision) -> dict[str, str]:
    """Version tags recording the gate's verdict, to pass to `Registry.register`."""
    return {
        GATE: "passed" if decision.promote else "failed",
        GATE_METRIC: decision.metric,
        GATE_REASONS: clip("; ".join(decision.reasons)),
        CHALLENGER_SCORE: str(decision.challenger_score),
        CHAMPION_SCORE: "" if decision.champion_score is None else str(decision.champion_score),
    }


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The HEAD commit of the working directory's git repository, or None (never fails)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def serialization_format(
    pipeline: Any, prefixes: Sequence[str]
) -> tuple[str, list[str] | None, str]:
    """skops with the types the pipeline needs, when all are allow-listed; else cloudpickle."""
    try:
        import skops.io as sio

        needed = sio.get_untrusted_types(data=sio.dumps(pipeline))
    except Exception as exc:  # skops refuses some objects (lambdas, local classes)
        return "cloudpickle", None, f"skops cannot serialize this model: {exc}"
    outside = [t for t in needed if not any(t.startswith(p + ".") for p in prefixes)]
    if outside:
        return "cloudpickle", None, f"types outside the skops allow-list: {', '.join(outside)}"
    return "skops", needed, ""


def pip_requirements(fmt: str, estimator_class: str) -> list[str]:
    """Pinned requirements, given explicitly: mlflow's inference costs 7-10 s in a subprocess."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    names = ["scikit-learn", "numpy", "pandas", fmt]
    top = estimator_class.split(".", 1)[0]
    if top != "sklearn":
        names += packages_distributions().get(top, [top])
    pins = []
    for dist in dict.fromkeys(names):
        try:
            pins.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            pins.append(dist)
    return pins


def training_params(policy: Policy, result: TrainingResult) -> dict[str, str]:
    """The run's params: what was trained, how, and on how many rows."""
    model, training = policy.model, policy.training
    params = {
        "task": model.task,
        "target": model.target,
        "features.numeric": ",".join(model.features.numeric),
        "features.categorical": ",".join(model.features.categorical),
        "estimator": model.estimator.class_,
        "training.holdout": str(training.holdout),
        "training.window": str(training.window),
        "training.random_state": str(training.random_state),
        "rows.train": str(result.n_train),
        "rows.holdout": str(result.n_holdout),
        "training.max_rows": str(training.max_rows),
        "rows.window": str(result.n_window),
    }
    params.update({f"estimator.{k}": clip(str(v)) for k, v in model.estimator.params.items()})
    return params


def window_tags(window: tuple[str, str] | None) -> dict[str, str]:
    """The training window's bounds as run tags (copied onto the registered version)."""
    if window is None:
        return {}
    return {WINDOW_START: window[0], WINDOW_END: window[1]}
