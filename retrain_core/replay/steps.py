"""One replay step: its line of the trace, and its acts (slice a batch, score, train, gate).

Training and the gate are the monitor's own (`train_challenger`, `gate_challenger`); only the
registry is replaced by a value (`Served`), and the champion's serving time is the step's `now`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from retrain_core.decide.promotion import gate_challenger
from retrain_core.kinds.context import Champion
from retrain_core.policy.schema import Policy
from retrain_core.training.challenger import TrainingResult, reference_sample, train_challenger
from retrain_core.training.errors import TrainingError


@dataclass(frozen=True)
class Served:
    """The champion of a replay, with the rows it was trained on (its drift reference)."""

    champion: Champion
    trained_on: pd.DataFrame


@dataclass(frozen=True)
class Step:
    """One line of the trace."""

    now: datetime
    rows: int
    labelled: int
    metric: float | None  # the serving model's metric on this batch, as it arrived
    version: str
    verdict: str
    fired: tuple[str, ...]
    reasons: tuple[str, ...]
    trained: str = ""  # "", "promoted", "staged" (in the first stage), "rejected" or "failed"
    training_reasons: tuple[str, ...] = ()
    quarantined: tuple[str, ...] = ()  # the batch files the check set aside
    # what the staged challenger did at this check: "", "waiting", the stage it entered,
    # "promoted" or "rejected" (`monitor.stages.watch`'s answer), and why
    stage: str = ""
    stage_reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "now": self.now.isoformat(), "rows": self.rows, "labelled": self.labelled,
            "metric": finite(self.metric), "version": self.version, "verdict": self.verdict,
            "fired": list(self.fired), "reasons": list(self.reasons), "trained": self.trained,
            "training_reasons": list(self.training_reasons),
            "quarantined": list(self.quarantined), "stage": self.stage,
            "stage_reasons": list(self.stage_reasons),
        }  # fmt: skip


def slice_rows(
    rows: pd.DataFrame, times: np.ndarray, after: datetime | None, until: datetime
) -> pd.DataFrame:
    """The rows with `after < timestamp <= until` (`times` is the sorted timestamp column)."""
    lo = 0 if after is None else int(np.searchsorted(times, naive(after), "right"))
    hi = int(np.searchsorted(times, naive(until), "right"))
    return rows.iloc[lo : max(lo, hi)]


def bootstrap(policy: Policy, reference: pd.DataFrame, now: datetime) -> Served:
    """The first champion, trained on the reference before the first step (as every strategy)."""
    try:
        result = train_challenger(policy, reference)
    except TrainingError as exc:
        raise ValueError(f"the reference cannot train a first model: {exc}") from exc
    return Served(_champion(policy, result, "1", now), reference_sample(policy, result.rows))


def score(policy: Policy, served: Served, rows: pd.DataFrame, metric: str) -> float | None:
    """The serving model's metric on labelled rows (None when there are none)."""
    from retrain_core.training.scoring import score_on

    rows = rows[rows[policy.model.target].notna()]
    if rows.empty:
        return None
    value = score_on(served.champion.model, rows, policy.model, [metric])[metric]
    return None if math.isnan(value) else value


def retrain_step(
    policy: Policy,
    served: Served,
    known: pd.DataFrame,
    now: datetime,
    step: Step,
    since: datetime | None = None,
) -> tuple[Served, Step]:
    """Train a challenger on the known labelled rows, gate it, and promote it when it passes
    (at once: the replay on rows has no rollout stages; `retrain backtest` says so)."""
    try:
        result = train_challenger(policy, known, since=since)
    except TrainingError as exc:  # a window that cannot be trained on is an outcome
        return served, replace(step, trained="failed", training_reasons=(str(exc),))
    champion = served.champion
    gate = gate_challenger(policy, result, champion.model, champion.trained_until)
    if not gate.promote:
        return served, replace(step, trained="rejected", training_reasons=gate.reasons)
    version = str(int(champion.version) + 1)
    new = _champion(policy, result, version, now)
    promoted = replace(step, trained="promoted", training_reasons=gate.reasons)
    return Served(new, reference_sample(policy, result.rows)), promoted


def _champion(policy: Policy, result: TrainingResult, version: str, now: datetime) -> Champion:
    """A champion as `load_champion` builds it, serving since `now`."""
    return Champion(
        version=version,
        created_at=now,
        metrics=result.metrics,
        model=result.fitted.pipeline,
        trained_until=_newest(result.rows, policy.data.timestamp),
        holdout_rows=result.n_holdout,
    )


def _newest(rows: pd.DataFrame, stamp: str | None) -> datetime | None:
    if stamp is None or rows.empty:
        return None
    return pd.Timestamp(rows[stamp].max()).floor("us").to_pydatetime()


def naive_times(stamps: pd.Series) -> np.ndarray:
    """A timestamp column as naive UTC datetime64[ns] values (for searchsorted)."""
    parsed = pd.to_datetime(stamps, utc=True)
    return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def naive(moment: datetime) -> np.datetime64:
    """A moment as a naive UTC datetime64, comparable with the sorted timestamp column."""
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return np.datetime64(stamp.to_datetime64(), "ns")


def finite(value: float | None) -> float | None:
    """The value, or None when it is missing or not finite (JSON has no NaN)."""
    return value if value is not None and math.isfinite(value) else None
