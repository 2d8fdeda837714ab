"""`retrain tune POLICY`: thresholds that keep false alarms rare on a stable stretch of history.

A stable period is one where nothing should retrain (default: the first third of the replay's
steps; `--stable-from/--stable-to` choose it). The first model is trained on the reference, as
in a backtest; each stable step's batch is checked with the policy's drift test and the model's
measured metric. For each drift rule, the smallest `min_effect` and for each rule that reads
labels (`performance`) the smallest `drop` that fire on at most `rate` of the stable steps are
proposed, as a diff of the policy's trigger lines. The checks are the monitor's own (`evaluate`),
with the threshold under study opened up, so the proposal is what the policy would have done.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import numpy as np

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.kinds.drift import DriftTrigger
from retrain_core.policy.registry import reads_labels
from retrain_core.policy.schema import Policy
from retrain_core.policy.triggers import Trigger
from retrain_core.replay.backtest import History

GRID = [round(0.01 * i, 2) for i in range(1, 101)]
Fires = Callable[[float], bool]  # would the rule fire on one stable check at this threshold?


@dataclass(frozen=True)
class Proposal:
    """One threshold: where it is, what it was, what it should be, and the stable firing rates."""

    rule: str
    key: str
    old: float
    new: float | None
    old_rate: float
    new_rate: float

    def diff(self) -> str:
        """A unified-diff style pair of lines."""
        new = "none reaches the rate" if self.new is None else f"{self.new:g}"
        return (
            f"- {self.rule}.{self.key}: {self.old:g}   # fires on {self.old_rate:.0%} of stable "
            f"checks\n+ {self.rule}.{self.key}: {new}   # fires on {self.new_rate:.0%}"
        )


def tune(
    policy: Policy, history: History, steps: Sequence[datetime], label_lag: timedelta, rate: float
) -> list[Proposal]:
    """Proposals for every drift and label-reading rule of the policy, from the stable steps."""
    from retrain_core.decide.evaluate import evaluate
    from retrain_core.kinds.context import Windows
    from retrain_core.replay.steps import bootstrap, naive_times, slice_rows

    served = bootstrap(policy, history.reference, steps[0])
    loose = _opened(policy)
    times = naive_times(history.rows[policy.data.timestamp])
    checks: list[list[CheckOutcome]] = []
    previous = None
    for now in steps:
        batch = slice_rows(history.rows, times, previous, now)
        lagged = None if previous is None else previous - label_lag
        labelled = slice_rows(history.rows, times, lagged, now - label_lag)
        if len(batch):
            w = Windows(served.trained_on, batch.drop(columns=[policy.model.target]), labelled)
            checks.append(evaluate(loose, w, served.champion, now))
        previous = now
    return [p for rule in policy.triggers.rules for p in _propose(rule, checks, rate)]


def _opened(policy: Policy) -> Policy:
    """The policy with every tuned threshold at its most sensitive (effects are measured)."""
    spec = policy.model_dump(by_alias=True, exclude_none=True)
    for rule in spec["triggers"].get("any") or spec["triggers"].get("all"):
        if "drift" in rule:
            rule["drift"]["min_effect"] = 0.0
        for key, settings in rule.items():
            if reads_labels(key) and settings.get("drop") is not None:
                settings["drop"] = 1e-9
                settings["confidence"] = None
    return Policy.model_validate(spec)


def _propose(rule: Trigger, checks: list[list[CheckOutcome]], rate: float) -> list[Proposal]:
    """The proposal for one rule (none for kinds that are not tuned)."""
    drift, perf = rule.get(DriftTrigger), rule.check_kind.measures(rule.config)
    if drift is not None:
        shares = [_drift_fires(c, drift.method, drift.min_share) for c in checks]
        return [_choose("drift", "min_effect", drift.min_effect, shares, rate)]
    if perf is not None and perf.drop is not None:
        falls = [_fall(c, rule.rule_id) for c in checks]
        fires: list[Fires] = [partial(_falls_beyond, f) for f in falls]
        return [_choose(rule.rule_id, "drop", perf.drop, fires, rate)]
    return []


def _falls_beyond(fall: float | None, drop: float) -> bool:
    return fall is not None and fall > drop


def _drift_fires(outcomes: list[CheckOutcome], method: str, min_share: float) -> Fires:
    """A function: would drift.share fire at this min_effect?"""
    features = [
        o for o in outcomes
        if o.check.startswith(f"drift.{method}.") and o.status is not Status.ERROR
    ]  # fmt: skip

    def fires(effect: float) -> bool:
        if not features:
            return False
        drifted = sum(o.failed and (o.observed or 0.0) >= effect for o in features)
        return drifted > 0 and drifted / len(features) >= min_share

    return fires


def _fall(outcomes: list[CheckOutcome], check: str) -> float | None:
    """How far the measured metric fell below its baseline (None when not measured)."""
    for o in outcomes:
        if o.check == check and o.status is not Status.ERROR and o.threshold is not None:
            if o.observed is None:
                return None
            return (o.threshold + 1e-9) - o.observed
    return None


def _choose(rule: str, key: str, old: float, fires: list[Fires], rate: float) -> Proposal:
    """The smallest grid value whose firing rate on the stable checks is at most `rate`."""

    def share(value: float) -> float:
        return float(np.mean([f(value) for f in fires])) if fires else math.nan

    new = next((v for v in GRID if share(v) <= rate), None)
    return Proposal(rule, key, old, new, share(old), share(new) if new is not None else math.nan)
