"""Staged rollout in a replay: the monitor's stage steps on the in-memory registry.

A passing challenger of a policy with `promotion.stages` enters the first stage (a first version,
with nothing to try it beside, is promoted at once, as `flows/approve.py::move_or_reject` does).
Each replayed check then runs what `monitor.stages.watch` runs, in its order and with its
functions: the stage by name (`decide.stages.stage_named`), its metric (`stage_metric`), the
labelled rows the monitor loads (`load_training_data`), both models on them (`compare`), the
verdict (`judge`) and what it does (`after`): wait, enter the next stage, promote (the champion
serves from the step's `now`) or reject. Only the registry differs: the staged slot of
`replay.memory.MemoryRegistry` instead of MLflow's aliases. While a canary runs, the users' rows
are answered by the model their key routes to (`decide.stages.to_canary`, as the serving router
does), so a step's score is theirs (`served_score`).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.decide.stages import after, gone, judge, stage_named, to_canary
from retrain_core.kinds.context import Champion
from retrain_core.monitor.stages import compare, stage_metric
from retrain_core.policy.schema import Policy
from retrain_core.replay.memory import MemoryRegistry

if TYPE_CHECKING:
    import pandas as pd


def staged_first(policy: Policy, registry: MemoryRegistry) -> bool:
    """Whether a passing challenger enters a stage rather than the champion alias: the policy
    has stages and a champion to try it beside."""
    return bool(policy.promotion.stages) and registry.champion is not None


def enter_first(
    policy: Policy, registry: MemoryRegistry, challenger: Champion, now: datetime
) -> str:
    """Put a passing challenger in the policy's first stage since `now`; the stage's name."""
    first = policy.promotion.stages[0]
    registry.enter_stage(first.name, now, challenger)
    return first.name


def watch(
    policy: Policy,
    registry: MemoryRegistry,
    root: Path,
    now: datetime,
    skip: dict[str, set[str]] | None = None,
) -> tuple[str | None, tuple[str, ...]]:
    """Judge the staged challenger, if any, and act (`monitor.stages.watch`'s steps): what
    happened (waiting, a stage's name, rejected, promoted) and why; None without one."""
    from retrain_core.monitor.training_data import load_training_data

    staged, champion, challenger = registry.staged(), registry.champion, registry.staged_model()
    if staged is None or champion is None or challenger is None:
        return None, ()
    stage = stage_named(policy, staged.stage)
    if stage is None:
        registry.leave_stage()
        return "rejected", (gone(staged.stage, staged.version),)
    metric = stage_metric(policy, stage)
    found = None
    if policy.data.timestamp is not None:
        rows = load_training_data(policy, root, skip, now)
        found = compare(policy, stage, metric, rows, champion, challenger, staged, now)
    verdict = judge(stage, staged.version, metric, found, staged.since, now)
    happened, following = after(policy, stage, verdict)
    if following is not None:
        registry.enter_stage(following.name, now)
    elif happened == "rejected":
        registry.leave_stage()
    elif happened == "promoted":
        registry.promote_staged(now)
    return happened, verdict.reasons


def served_score(
    policy: Policy, registry: MemoryRegistry, rows: pd.DataFrame, metric: str
) -> float | None:
    """The metric of what users got on labelled rows: the champion's answers, but during a
    canary each row whose key routes to it is answered by the canary (None: no labelled row)."""
    from retrain_core.checks.performance import compute_metric
    from retrain_core.replay.steps import Served, score

    champion = registry.champion
    assert champion is not None
    staged, challenger = registry.staged(), registry.staged_model()
    stage = stage_named(policy, staged.stage) if staged is not None else None
    canary = stage.canary if stage is not None else None
    if canary is None or challenger is None:  # the champion answers every row
        return score(policy, Served(champion, rows[:0]), rows, metric)
    target = policy.model.target
    rows = rows[rows[target].notna()]
    if rows.empty:
        return None
    routed = to_canary(rows[canary.key], canary.share)
    y_pred, proba, classes = _answers(policy, [champion.model, challenger.model], rows, routed)
    try:
        value = compute_metric(metric, rows[target].to_numpy(), y_pred, proba, classes)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def _answers(
    policy: Policy, models: list[Any], rows: pd.DataFrame, routed: list[bool]
) -> tuple[Any, Any, Any]:
    """Each row's prediction (and probabilities) from the model it is routed to: the first of
    `models` (the champion), or the second (the canary) where `routed`. Probabilities only when
    both models have them over the same classes."""
    import numpy as np

    features = rows[policy.model.features.all]
    mask = np.asarray(routed, dtype=bool)
    champion, canary = models
    y_pred = np.where(mask, np.asarray(canary.predict(features)), champion.predict(features))
    classes: list[Any] = [getattr(m, "classes_", None) for m in models]
    same = classes[0] is not None and classes[1] is not None
    same = same and np.array_equal(classes[0], classes[1])
    classifier = policy.model.task == "classification"
    if not (classifier and same and all(hasattr(m, "predict_proba") for m in models)):
        return y_pred, None, classes[0]
    proba = np.where(
        mask[:, None], canary.predict_proba(features), champion.predict_proba(features)
    )
    return y_pred, proba, classes[0]
