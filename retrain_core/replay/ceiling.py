"""The hindsight ceiling of a backtest: the best schedule of N retrains trained as the policy does.

At every step a model is trained on what the replay knew then, the way the policy's retrain
trains (`train_challenger`: on the whole window, and, once the policy has named a change, also
with `since` = that change); the policy's own promoted models are candidates too. Each candidate
is scored on every later batch, and dynamic programming picks the best schedule of at most N
retrains (no gate: hindsight knows which retrain pays). Every schedule of at most N retrains of
those models is at or below it, the policy's own among them when N is its number of promotions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from retrain_core.policy.schema import Policy
    from retrain_core.replay.backtest import History, Replay
    from retrain_core.replay.steps import Served


@dataclass(frozen=True)
class Candidate:
    """A model a schedule may serve: trained at step `at` (-1: the first model), serving after."""

    at: int
    served: Served


def hindsight(
    policy: Policy,
    history: History,
    steps: list[datetime],
    label_lag: timedelta,
    metric: str,
    most: int,
    policy_replay: Replay | None = None,
) -> tuple[float, tuple[int, ...]]:
    """The best mean metric any schedule of at most `most` retrains reaches, with hindsight.

    `policy_replay` adds the policy's first and promoted models and the changes its retrains
    answered (a since-change candidate is trained at every step from the first). Returns
    (mean, retrain step indexes).
    """
    return hindsight_by_budget(policy, history, steps, label_lag, metric, most, policy_replay)[-1]


def hindsight_by_budget(
    policy: Policy,
    history: History,
    steps: list[datetime],
    label_lag: timedelta,
    metric: str,
    most: int,
    policy_replay: Replay | None = None,
    recent: timedelta | None = None,
) -> list[tuple[float, tuple[int, ...]]]:
    """`hindsight` for every budget from 0 to `most` retrains (index k: at most k), the models
    trained once. `recent` adds at every step a model trained on the labelled rows of that last
    stretch alone (what a retrain answering a change that recent could train on)."""
    from retrain_core.replay.steps import bootstrap, naive_times, score, slice_rows

    times = naive_times(history.rows[_stamp(policy)])
    start = steps[0] - (steps[1] - steps[0])
    batches, previous = [], start
    for now in steps:
        batches.append(slice_rows(history.rows, times, previous, now))
        previous = now
    first = bootstrap(policy, history.reference, start)
    candidates = [Candidate(-1, first), *_policy_models(first, policy_replay, -1)]
    for m, now in enumerate(steps[:-1]):
        until = now - label_lag
        candidates += _trained(policy, history, first, m, until, policy_replay, recent)
    n = len(steps)
    scored = [score(policy, first, b, metric) is not None for b in batches]
    gains = []
    for c in candidates:
        row = [0.0] * n
        for t in range(c.at + 1, n):
            if scored[t]:
                row[t] = score(policy, c.served, batches[t], metric) or 0.0
        gains.append(np.concatenate([[0.0], np.cumsum(row)]))
    count = sum(scored)
    curve = []
    for k in range(most + 1):
        total, when = _best_schedule(candidates, gains, n, k)
        curve.append(((total / count if count else math.nan), when))
    return curve


def _best_schedule(
    candidates: list[Candidate], prefix: list[np.ndarray], n: int, most: int
) -> tuple[float, tuple[int, ...]]:
    """The best total over schedules of at most `most` switches, and the steps they happen at."""
    trained_at: dict[int, list[int]] = {}
    for i, c in enumerate(candidates):
        trained_at.setdefault(c.at, []).append(i)

    @cache
    def best(left: int, i: int) -> tuple[float, tuple[int, ...]]:
        """Best total from the step candidate `i` starts serving, with `left` retrains to go."""
        begin = candidates[i].at + 1
        answer: tuple[float, tuple[int, ...]] = (float(prefix[i][n] - prefix[i][begin]), ())
        if left == 0:
            return answer
        for m in range(begin, n - 1):
            tail, when = switch(left - 1, m)
            head = float(prefix[i][m + 1] - prefix[i][begin])
            if when is not None and head + tail > answer[0]:
                answer = (head + tail, (m, *when))
        return answer

    @cache
    def switch(left: int, m: int) -> tuple[float, tuple[int, ...] | None]:
        """The best total from step m + 1 on a model trained at step m (None: there is none)."""
        options: list[tuple[float, tuple[int, ...] | None]] = [
            best(left, j) for j in trained_at.get(m, [])
        ]
        return max(options, key=lambda o: o[0], default=(-math.inf, None))

    return max((best(most, i) for i in trained_at[-1]), key=lambda o: o[0])


def _trained(
    policy: Policy,
    history: History,
    first: Served,
    m: int,
    until: datetime,
    policy_replay: Replay | None,
    recent: timedelta | None = None,
) -> list[Candidate]:
    """The candidates trained at step m: on the window, since the newest change the policy named
    by then (and since `until - recent`), and the policy's own promoted model."""
    from retrain_core.replay.backtest import _known
    from retrain_core.training.challenger import train_challenger
    from retrain_core.training.errors import TrainingError

    known = _known(history, _stamp(policy), until)
    named = [r.since for r in (policy_replay.retrained if policy_replay else ()) if r.index <= m]
    changes = [s for s in named if s is not None][-1:]
    if recent is not None:
        changes.append(until - recent)
    found = []
    for since in (None, *changes):
        try:
            result = train_challenger(policy, known, since=since)
        except TrainingError:
            continue
        champion = replace(first.champion, model=result.fitted.pipeline)
        found.append(Candidate(m, replace(first, champion=champion)))
    return found + _policy_models(first, policy_replay, m)


def _policy_models(first: Served, policy_replay: Replay | None, m: int) -> list[Candidate]:
    """The policy's model that began serving after step m (m = -1: its first model)."""
    if policy_replay is None:
        return []
    models: list[Any] = [policy_replay.first] if m == -1 else []
    if m >= 0:
        models = [r.model for r in policy_replay.retrained if r.index == m]
    return [
        Candidate(m, replace(first, champion=replace(first.champion, model=model)))
        for model in models
        if model is not None
    ]


def _stamp(policy: Policy) -> str:
    from retrain_core.replay.backtest import _timestamp

    return _timestamp(policy)
