"""The evidence probation judges: the labelled rows a champion on probation and its predecessor
each served, with each one's predictions (loaded from the data and the model registry).

The judgement itself is pure and lives in `decide.probation`; the monitor flow calls `evidence`,
then `decide.probation.judge`, and rolls back when told to.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.decide.probation import Labelled, Served, on_probation
from retrain_core.policy.schema import Policy

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.store.registry import Registry


def evidence(
    registry: Registry,
    policy: Policy,
    root: Path,
    champion: Any,
    now: datetime,
    skip: dict[str, set[str]] | None = None,
) -> tuple[Served, Served] | None:
    """The labelled rows each of the champion and its predecessor served, with predictions.

    None when the champion is not on probation or there is nothing to compare with (no
    previous version, no late labels or timestamp in the policy).
    """
    from retrain_core.kinds.context import Champion
    from retrain_core.kinds.performance import predictions
    from retrain_core.monitor.training_data import load_training_data
    from retrain_core.store.registry import serving_since, trained_until

    probation, promotion = policy.promotion.probation, policy.promotion
    stamp = policy.data.timestamp
    if probation is None or stamp is None or champion is None:
        return None
    if not on_probation(champion.created_at, probation, now):
        return None
    previous = registry.champion(policy.name, promotion.previous_alias)
    if previous is None:
        return None
    rows = _timestamped(load_training_data(policy, root, skip, now), stamp)
    new_rows = _served(rows, stamp, champion.created_at, now, champion.trained_until)
    old_since = serving_since(previous)
    old_rows = _served(rows, stamp, old_since, champion.created_at, trained_until(previous))
    old_model = Champion(str(previous.version), old_since,
                         model=registry.load_model(policy.name, str(previous.version)))  # fmt: skip
    return (
        Served(
            champion.version,
            _labelled(policy, champion, new_rows, predictions),
            getattr(champion.model, "classes_", None),
        ),
        Served(
            str(previous.version),
            _labelled(policy, old_model, old_rows, predictions),
            getattr(old_model.model, "classes_", None),
        ),
    )


def _timestamped(rows: pd.DataFrame, stamp: str) -> pd.DataFrame:
    from retrain_core.data.timestamps import parse_timestamps

    return rows.assign(**{stamp: parse_timestamps(rows[stamp])}).dropna(subset=[stamp])


def _served(
    rows: pd.DataFrame, stamp: str, since: datetime, until: datetime, trained: datetime | None
) -> pd.DataFrame:
    """Rows stamped while a version served (and newer than its training data)."""
    start = max(since, trained) if trained is not None else since
    return rows[(rows[stamp] > start) & (rows[stamp] <= until)]


def _labelled(policy: Policy, model: Any, rows: pd.DataFrame, predict: Any) -> Labelled:
    target = policy.model.target
    if rows.empty:
        return rows[target].to_numpy(), None, None
    y_pred, proba = predict(policy, model, rows)
    return rows[target].to_numpy(), y_pred, proba
