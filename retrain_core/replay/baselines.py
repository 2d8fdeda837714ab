"""Baselines a policy's backtest is compared with, on the same batches and the same label lag.

Each is a `Strategy` for `retrain_core.replay.backtest.replay` (so it trains, gates and is scored
exactly as the policy is), except persistence, which has no model: it predicts each row's label
as the
label of the newest row whose label was known when the row arrived.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from retrain_core.policy.schema import Policy
from retrain_core.replay.backtest import Call, History, Replay, StepView, Strategy
from retrain_core.replay.ceiling import hindsight as hindsight  # the ceiling the CLI prints

NAIVE_DROP = 0.05


def never(context: StepView) -> Call:
    """Keep the first model for ever."""
    return Call(False, "hold", ("never retrains",))


def periodic(every: int) -> Strategy:
    """Retrain on every `every`-th check, whatever the data says."""

    def call(context: StepView) -> Call:
        due = (context.index + 1) % every == 0
        return Call(due, "retrain" if due else "hold", (f"every {every} checks",))

    return call


def naive_drop(drop: float = NAIVE_DROP) -> Strategy:
    """Retrain when the newest labelled batch scores `drop` below the champion's best batch.

    A point comparison without statistics, cooldown or label awareness: what a first attempt
    at a performance trigger looks like (higher-is-better metrics).
    """
    best: dict[str, float] = {}

    def call(context: StepView) -> Call:
        version, measured = context.served.champion.version, context.measured
        if measured is None:
            return Call(False, "hold", ("no labelled rows",))
        top = max(best.get(version, -math.inf), measured)
        best[version] = top
        if measured < top - drop:
            reason = f"metric {measured:.3f} < best {top:.3f} - {drop:g}"
            return Call(True, "retrain", (reason,), frozenset({"naive.drop"}))
        return Call(False, "hold", (f"metric {measured:.3f} >= best {top:.3f} - {drop:g}",))

    return call


def persistence(
    rows: pd.DataFrame, target: str, timestamp: str, label_lag: timedelta, moments: list[datetime]
) -> list[float | None]:
    """Per step, the accuracy of predicting the newest label known when each row arrived."""
    from retrain_core.replay.steps import naive, naive_times

    times = naive_times(rows[timestamp])
    labels = rows[target].to_numpy()
    lag = np.timedelta64(int(label_lag.total_seconds() * 1e6), "us")
    known = np.searchsorted(times, times - lag, side="left") - 1  # strictly earlier rows
    scores: list[float | None] = []
    previous = None
    for now in moments:
        end = naive(now)
        lo = 0 if previous is None else int(np.searchsorted(times, previous, "right"))
        hi = int(np.searchsorted(times, end, "right"))
        picked = known[lo:hi]
        usable = picked >= 0
        if not usable.any():
            scores.append(None)
        else:
            truth, guess = labels[lo:hi][usable], labels[picked[usable]]
            scores.append(float(np.mean(truth == guess)))
        previous = end
    return scores


def compare(
    policy: Policy,
    history: History,
    steps: list[datetime],
    label_lag: timedelta,
    metric: str,
    every: int = 5,
    extra: dict[str, Strategy] | None = None,
    policy_replay: Replay | None = None,
) -> tuple[list[Replay], list[float | None]]:
    """The policy and every baseline on the same batches and lag, then persistence's scores.

    `policy_replay` is the policy's replay through the monitor's code
    (`retrain_core.replay.monitored`); without it the policy is replayed in memory on the rows.
    """
    from retrain_core.replay.backtest import policy_strategy, replay

    strategies: dict[str, Strategy] = {
        "policy": policy_strategy,
        **(extra or {}),
        "never": never,
        f"every {every}": periodic(every),
        "naive drop": naive_drop(),
    }
    if policy_replay is not None:
        del strategies["policy"]
    replays = [
        replay(policy, history, steps, label_lag, strategy, name, metric)
        for name, strategy in strategies.items()
    ]
    if policy_replay is not None:
        replays.insert(0, policy_replay)
    stamp = policy.data.timestamp
    assert stamp is not None
    scores: list[float | None] = []
    if policy.model.task == "classification":
        scores = persistence(history.rows, policy.model.target, stamp, label_lag, steps)
    return replays, scores
