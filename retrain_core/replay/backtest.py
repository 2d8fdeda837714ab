"""Replay a policy over a labelled history with the monitor's own checks, decision and gate.

The replay is `terraform plan` for a policy: what its triggers would have done on past batches.
Each step is one monitor cycle at a logical moment `now` (the only clock: ledger entries, the
champion's serving time and label arrival all use it). A step sees the rows that arrived since the
previous step, and the labels of rows at least `label_lag` older than `now`. It runs the SAME
`evaluate()`, `decide()`, `train_challenger()` and promotion gate as the monitor flow, in memory:
the ledger is a list of `LedgerEntry`, the registry a variable, so no Prefect or MLflow server is
paid per step. Baselines (`retrain_core.replay.baselines`) replay the same batches with the same
lag.

The score of a step is the serving model's metric on that step's batch as it arrived, measured
with the true labels the replay knows (prequential evaluation: predict, then learn).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from retrain_core.decide.records import LedgerEntry, RetrainDecision
from retrain_core.decide.swings import swings
from retrain_core.kinds.context import Windows
from retrain_core.policy.schema import Policy
from retrain_core.replay.steps import (
    Served,
    Step,
    bootstrap,
    finite,
    naive,
    naive_times,
    retrain_step,
    score,
    slice_rows,
)


@dataclass(frozen=True)
class History:
    """What a replay knows: the first model's labelled rows and every later row with its label."""

    reference: pd.DataFrame
    rows: pd.DataFrame  # features, target and the policy's timestamp column, sorted by time


@dataclass(frozen=True)
class Call:
    """A strategy's answer for one step: retrain or not, and why."""

    retrain: bool
    verdict: str
    reasons: tuple[str, ...] = ()
    fired: frozenset[str] = frozenset()
    decision: RetrainDecision | None = None


@dataclass(frozen=True)
class Retrained:
    """A retrain of a replay: its step, the change it answered, its model when promoted."""

    index: int
    since: datetime | None
    model: Any = None


@dataclass(frozen=True)
class Replay:
    """A strategy's whole replay: its trace and the summary figures."""

    strategy: str
    metric: str
    steps: tuple[Step, ...]
    first: Any = field(default=None, compare=False, repr=False)  # the first model
    retrained: tuple[Retrained, ...] = field(default=(), compare=False, repr=False)

    @property
    def trainings(self) -> int:
        """Retrains started after the first model (failed ones included)."""
        return sum(bool(s.trained) for s in self.steps)

    @property
    def promotions(self) -> int:
        """Retrains whose challenger took the alias (at once, or after its last stage)."""
        return sum(s.trained == "promoted" or s.stage == "promoted" for s in self.steps)

    @property
    def failures(self) -> int:
        """Retrains that could not produce a model."""
        return sum(s.trained == "failed" for s in self.steps)

    @property
    def mean_metric(self) -> float:
        """The mean per-batch metric of the serving model (NaN when nothing was scored)."""
        values = [s.metric for s in self.steps if s.metric is not None and math.isfinite(s.metric)]
        return float(np.mean(values)) if values else math.nan

    def summary(self) -> dict[str, Any]:
        """The figures of the summary table."""
        return {
            "strategy": self.strategy, "metric": self.metric,
            "mean": finite(self.mean_metric), "retrains": self.trainings,
            "promoted": self.promotions, "failed": self.failures,
        }  # fmt: skip


@dataclass
class StepView:
    """What a strategy sees at one step (the replay's state, read-only by convention)."""

    policy: Policy
    index: int
    now: datetime
    windows: Windows
    served: Served
    ledger: list[LedgerEntry]
    measured: float | None  # the champion's metric on the newly labelled rows (None: none)
    fresh_labels: Callable[[datetime], int] = field(default=lambda since: 0)


Strategy = Callable[[StepView], Call]


def load_history(policy: Policy, root: Path) -> History:
    """The reference and every current row with its label, sorted by time.

    The current rows and their labels are read by the monitor's own `labelled_current` (the
    batches that pass their rules, one row per key), so the replay learns from the rows the
    monitor's retrains would.
    """
    from retrain_core.data import read_source, required_columns
    from retrain_core.data.timestamps import parse_timestamps
    from retrain_core.monitor.current_rows import labelled_current

    stamp, target = _timestamp(policy), policy.model.target
    reference = read_source(policy.data.reference, required_columns(policy), root)
    found = labelled_current(policy, root, reference) if policy.data.labels is not None else None
    frames = []
    for name, frame in (("reference", reference), ("current", found[0] if found else None)):
        if frame is None or target not in frame.columns or frame[target].isna().all():
            raise ValueError(f"the {name} rows have no {target!r} labels to replay with")
        parsed = parse_timestamps(frame[stamp])
        if parsed is None:
            raise ValueError(f"the {name} timestamp column {stamp!r} is not parseable")
        frames.append(frame.assign(**{stamp: parsed}).dropna(subset=[stamp]))
    ordered = frames[1].sort_values(stamp, kind="stable").reset_index(drop=True)
    return History(frames[0].reset_index(drop=True), pd.DataFrame(ordered))


def moments(start: datetime, end: datetime, every: timedelta) -> list[datetime]:
    """The logical moments of the replay: start, start + every, ... up to end (inclusive)."""
    if every <= timedelta(0):
        raise ValueError("--every must be longer than 0s")
    result, moment = [], start
    while moment <= end:
        result.append(moment)
        moment += every
    return result


def replay(
    policy: Policy,
    history: History,
    steps: Sequence[datetime],
    label_lag: timedelta,
    strategy: Strategy,
    name: str,
    metric: str,
) -> Replay:
    """Replay `strategy` over `steps`: judge each batch, retrain when told, gate, keep score."""
    stamp = _timestamp(policy)
    times = naive_times(history.rows[stamp])
    served = bootstrap(policy, history.reference, steps[0] - (steps[1] - steps[0]))
    ledger: list[LedgerEntry] = []
    trace: list[Step] = []
    retrained: list[Retrained] = []
    first = served.champion.model
    previous = steps[0] - (steps[1] - steps[0]) if len(steps) > 1 else None
    for index, now in enumerate(steps):
        batch = slice_rows(history.rows, times, previous, now)
        lagged = None if previous is None else previous - label_lag
        new_labels = slice_rows(history.rows, times, lagged, now - label_lag)
        live = slice_rows(history.rows, times, served.champion.trained_until, lagged or now)
        windows = _windows(policy, served, batch, new_labels, trace, live if lagged else None)
        windows = replace(windows, swings=swings(ledger))
        context = StepView(
            policy, index, now, windows, served, ledger,
            measured=score(policy, served, new_labels, metric),
            fresh_labels=partial(_count, times, until=now - label_lag),
        )  # fmt: skip
        call = strategy(context)
        step = Step(
            now, len(batch), len(new_labels), score(policy, served, batch, metric),
            served.champion.version, call.verdict, tuple(sorted(call.fired)), call.reasons,
        )  # fmt: skip
        if call.retrain:
            known = _known(history, stamp, now - label_lag)
            since = call.decision.train_since if call.decision is not None else None
            served, step = retrain_step(policy, served, known, now, step, since)
            model = served.champion.model if step.trained == "promoted" else None
            retrained.append(Retrained(index, since, model))
        ledger.append(_entry(call, now, step.trained))
        trace.append(step)
        previous = now
    return Replay(name, metric, tuple(trace), first, tuple(retrained))


def _windows(
    policy: Policy,
    served: Served,
    batch: pd.DataFrame,
    new_labels: pd.DataFrame,
    trace: Sequence[Step],
    live: pd.DataFrame | None,
) -> Windows:
    """The windows the monitor would have loaded (reference: the champion's rows, or the file)."""
    stamp = _timestamp(policy)
    newest = batch[stamp].max() if len(batch) else None
    return Windows(
        reference=served.trained_on,
        live=live,
        current=batch.drop(columns=[policy.model.target]),
        labelled=new_labels,
        newest=newest.floor("us").to_pydatetime() if newest is not None else None,
        previous_rows=trace[-1].rows if trace else None,
        new_data=bool(len(batch) or len(new_labels)),
    )


def _entry(call: Call, now: datetime, training: str) -> LedgerEntry:
    """The ledger entry the monitor would have written for this step, with the training's end."""
    if call.decision is not None:
        return call.decision.ledger_entry(training)
    return LedgerEntry(now, call.fired, retrained=call.retrain, training=training)


def policy_strategy(context: StepView) -> Call:
    """The policy's own triggers: the monitor's `evaluate()` and `decide()`, labels counted."""
    from retrain_core.decide.decision import decide
    from retrain_core.decide.evaluate import evaluate
    from retrain_core.decide.pending import Fresh, change_start

    policy, windows = context.policy, context.windows
    outcomes = evaluate(policy, windows, context.served.champion, context.now)
    start = _window_start(policy, windows, context.now)
    since = change_start(context.ledger, start)
    lag = policy.data.labels.lag if policy.data.labels is not None else None
    labelled = windows.labelled
    measured = None
    if labelled is not None and len(labelled):
        measured = pd.Timestamp(labelled[_timestamp(policy)].min()).floor("us").to_pydatetime()
    fresh = Fresh(since, context.fresh_labels(since), lag, measured)
    decision = decide(policy.triggers, outcomes, context.ledger, context.now, True, fresh=fresh)
    return Call(decision.retrain, decision.verdict, decision.reasons, decision.fired, decision)


def _window_start(policy: Policy, windows: Windows, now: datetime) -> datetime:
    """The oldest timestamp of the current window (now when it is empty)."""
    stamp = _timestamp(policy)
    if windows.current.empty:
        return now
    return pd.Timestamp(windows.current[stamp].min()).floor("us").to_pydatetime()


def _known(history: History, stamp: str, until: datetime) -> pd.DataFrame:
    """Every labelled row known at a moment: the reference and the rows whose label arrived."""
    rows = history.rows[history.rows[stamp] <= until]
    return pd.concat([history.reference, rows], ignore_index=True)


def _count(times: np.ndarray, since: datetime, *, until: datetime) -> int:
    """How many rows have a timestamp in [since, until]."""
    lo = int(np.searchsorted(times, naive(since), "left"))
    hi = int(np.searchsorted(times, naive(until), "right"))
    return max(hi - lo, 0)


def _timestamp(policy: Policy) -> str:
    """The policy's timestamp column: a replay moves through time, so it needs one."""
    if policy.data.timestamp is None:
        raise ValueError("a backtest replays by time: set data.timestamp in the policy")
    return policy.data.timestamp
