"""Staged rollout's I/O: enter a stage, gather a staged challenger's evidence, act on a verdict.

The verdict itself is pure (`decide.stages.judge`). Each check (`watch`) loads the labelled rows
stamped since the stage began that neither model was trained on, scores the champion and the
challenger on them (shadow: both on every row; canary: each on the rows the key's hash routes to
it, as the serving router does) and acts: a new stage, the champion alias, or a rejection. Every
change is a ledger event (`Ledger.record_stage`), a notification and the version's tags (what
`retrain explain` and `retrain status` show). Aliases move last, so a crash leaves the champion
serving; the next check finds the stage where it was and completes the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.decide.probation import measured_metric
from retrain_core.decide.stages import (
    STAGE_ALIASES,
    after,
    gone,
    judge,
    stage_named,
    to_canary,
)
from retrain_core.notify import Notification, send
from retrain_core.policy.notify import Event
from retrain_core.policy.schema import Policy
from retrain_core.policy.stages import PAIRED, Stage

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.checks.paired import NotWorse
    from retrain_core.kinds.context import Champion
    from retrain_core.store import Store
    from retrain_core.store.registry import StagedVersion


def stage_metric(policy: Policy, stage: Stage) -> str:
    """The stage's metric, else the one the policy measures on labels (when it has a per-row
    test), else accuracy or rmse by task."""
    if stage.settings.metric:
        return stage.settings.metric
    measured = measured_metric(policy)
    if measured in PAIRED:
        return measured
    return "accuracy" if policy.model.task == "classification" else "rmse"


def enter(
    store: Store,
    policy: Policy,
    version: str,
    stage: Stage,
    reasons: Sequence[str],
    now: datetime,
    notify: bool = True,
) -> str:
    """Put `version` in `stage`: a canary first registers the serving router with the policy's
    split, then the tags, the ledger event and the alias (last), and people are told (unless
    the caller tells them: `notify`)."""
    from retrain_core.store.router import register_router

    registry, name = store.registry, policy.name
    canary = stage.canary
    if canary is not None:
        split: dict[str, str | float | list[str]] = {
            "key": canary.key, "share": canary.share, "features": policy.model.features.all,
            "champion_alias": policy.promotion.alias, "canary_alias": STAGE_ALIASES["canary"],
        }  # fmt: skip
        register_router(registry.client, registry.experiment_id(name), name, split)
    note = f"v{version} entered {stage.name} (alias {STAGE_ALIASES[stage.name]})"
    why = (*reasons, note)
    store.ledger.record_stage(name, version, stage.name, "entered", why, now=now)
    registry.enter_stage(name, version, stage.name, why, now=now)
    if notify:
        send(policy.notify, Notification(Event.STAGED, name, why, version, Event.STAGED.value))
    return stage.name


def watch(
    store: Store,
    policy: Policy,
    root: Path,
    champion: Champion | None,
    now: datetime,
    skip: dict[str, set[str]] | None = None,
) -> str | None:
    """Judge the challenger in a stage, if any, and act: what happened (waiting, a stage name,
    rejected, promoted), or None without a staged challenger."""
    registry, name = store.registry, policy.name
    staged = registry.staged(name)
    if staged is None or champion is None:
        return None
    stage = stage_named(policy, staged.stage)
    if stage is not None and staged.interrupted:  # a crash while it entered `stage`: finish it
        why = (f"completing v{staged.version}'s interrupted move to {stage.name}",)
        return enter(store, policy, staged.version, stage, why, now)
    if stage is None:
        return _reject(store, policy, staged, (gone(staged.stage, staged.version),), now, 0)
    metric = stage_metric(policy, stage)
    found = evidence(store, policy, root, champion, staged, stage, metric, now, skip)
    verdict = judge(stage, staged.version, metric, found, staged.since, now)
    rows = found.rows if found is not None else 0
    registry.note_stage(name, staged.version, verdict.reasons[0], rows)
    happened, following = after(policy, stage, verdict)
    if following is not None:
        return enter(store, policy, staged.version, following, verdict.reasons, now)
    if happened == "rejected":
        return _reject(store, policy, staged, verdict.reasons, now, rows)
    if happened == "promoted":
        return _promote(store, policy, staged, verdict.reasons, now, rows)
    return happened


def _reject(
    store: Store,
    policy: Policy,
    staged: StagedVersion,
    reasons: Sequence[str],
    now: datetime,
    rows: int,
) -> str:
    name, version = policy.name, staged.version
    store.ledger.record_stage(name, version, staged.stage, "rejected", reasons, now=now, rows=rows)
    store.registry.tag_rejected(name, version, reasons, now=now)
    store.registry.leave_stage(name, version)
    send(policy.notify, Notification(Event.REJECTED, name, tuple(reasons), version, "rejected"))
    return "rejected"


def _promote(
    store: Store,
    policy: Policy,
    staged: StagedVersion,
    reasons: Sequence[str],
    now: datetime,
    rows: int,
) -> str:
    """The last stage passed: the champion alias moves (the old champion keeps `previous`), then
    the stage alias goes; probation, if any, watches it from `now` on."""
    name, version, p = policy.name, staged.version, policy.promotion
    store.ledger.record_stage(name, version, staged.stage, "promoted", reasons, now=now, rows=rows)
    store.registry.promote(name, version, p.alias, p.previous_alias, now=now, reasons=reasons)
    store.registry.leave_stage(name, version)
    send(policy.notify, Notification(Event.PROMOTED, name, tuple(reasons), version, "promoted"))
    return "promoted"


def evidence(
    store: Store,
    policy: Policy,
    root: Path,
    champion: Champion,
    staged: StagedVersion,
    stage: Stage,
    metric: str,
    now: datetime,
    skip: dict[str, set[str]] | None = None,
) -> NotWorse | None:
    """Both models on the labelled rows since the stage began that neither trained on (the
    rows and the challenger loaded, then `compare`)."""
    from retrain_core.kinds.context import Champion as Model
    from retrain_core.monitor.training_data import load_training_data

    if policy.data.timestamp is None:
        return None
    rows = load_training_data(policy, root, skip, now)
    loaded = store.registry.load_model(policy.name, staged.version)
    challenger = Model(staged.version, staged.since, model=loaded)
    return compare(policy, stage, metric, rows, champion, challenger, staged, now)


def compare(
    policy: Policy,
    stage: Stage,
    metric: str,
    rows: pd.DataFrame,
    champion: Champion,
    challenger: Champion,
    staged: StagedVersion,
    now: datetime,
) -> NotWorse | None:
    """Both models on the labelled `rows` stamped after the stage began and after both models'
    training ended, not after `now` (pure): shadow, both on every row (a paired test); canary,
    each on the rows the key's hash routes to it. None without a timestamp column."""
    from retrain_core.checks.paired import not_worse_paired, not_worse_split

    stamp = policy.data.timestamp
    if stamp is None:
        return None
    rows = _since(rows, stamp, now, [staged.since, champion.trained_until, staged.trained_until])
    target = policy.model.target
    canary = stage.canary
    if canary is None:
        return not_worse_paired(
            metric, rows[target].to_numpy(), _scored(policy, champion, rows),
            _scored(policy, challenger, rows), stage.settings.margin,
        )  # fmt: skip
    routed = rows[to_canary(rows[canary.key], canary.share)] if len(rows) else rows
    kept = rows.drop(index=routed.index)
    return not_worse_split(
        metric,
        (kept[target].to_numpy(), _scored(policy, champion, kept)),
        (routed[target].to_numpy(), _scored(policy, challenger, routed)),
        stage.settings.margin,
    )


def _since(
    rows: pd.DataFrame, stamp: str, now: datetime, starts: list[datetime | None]
) -> pd.DataFrame:
    """Rows stamped after every one of `starts` and not after `now`, with a plain index."""
    from retrain_core.data.timestamps import parse_timestamps

    moments: Any = parse_timestamps(rows[stamp])
    known: list[datetime] = [s for s in starts if s is not None]
    start = max(known)  # the stage's own start is always known
    return rows[(moments > start) & (moments <= now)].reset_index(drop=True)


def _scored(policy: Policy, model: Any, rows: pd.DataFrame) -> tuple[Any, Any, Any]:
    """(predictions, probabilities, classes) of a model on rows."""
    from retrain_core.kinds.performance import predictions

    if rows.empty:
        return rows[policy.model.target].to_numpy(), None, None
    y_pred, proba = predictions(policy, model, rows)
    return y_pred, proba, getattr(model.model, "classes_", None)
