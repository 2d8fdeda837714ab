"""Staged rollout, pure: where a challenger stands, where it goes next, and which rows it serves.

A challenger that passed the gate under a policy with `promotion.stages` enters the first stage
(`shadow`: alias `challenger`; `canary`: alias `canary`). Each check compares it with the champion
on the labelled rows neither was trained on since the stage began (`monitor.stages` loads them and
builds a `checks.paired.NotWorse`); `judge` says wait, advance (to the next stage, or champion
after the last) or reject. The canary's rows are those `to_canary` routes to it: the same stable
hash of the key column the serving router (`store.router`) uses, so the monitor judges each model
on the rows it answered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from retrain_core.base.durations import format_duration
from retrain_core.checks.paired import NotWorse
from retrain_core.decide.records import RetrainDecision
from retrain_core.policy.schema import Policy
from retrain_core.policy.stages import Stage

# the alias a challenger holds in each stage
STAGE_ALIASES = {"shadow": "challenger", "canary": "canary"}
SUPPRESSED_BY = "stage"  # a retrain held while a challenger is on trial
Action = Literal["wait", "advance", "reject"]


@dataclass(frozen=True)
class StageVerdict:
    """What a check decides about a challenger in a stage, and why (its evidence in words)."""

    action: Action
    reasons: tuple[str, ...]


def stage_named(policy: Policy, name: str) -> Stage | None:
    """The policy's stage called `name`, or None when the policy has no such stage (any more)."""
    return next((s for s in policy.promotion.stages if s.name == name), None)


def next_stage(policy: Policy, name: str | None) -> Stage | None:
    """The stage after `name` (the first for None); None when the next step is champion."""
    stages = policy.promotion.stages
    if name is None:
        return stages[0] if stages else None
    names = [s.name for s in stages]
    index = names.index(name) + 1 if name in names else len(names)
    return stages[index] if index < len(stages) else None


def describe(metric: str, found: NotWorse) -> str:
    """The running comparison in words, e.g. "accuracy 0.781 vs champion 0.774 on 2400 rows"."""
    rows = (
        f"{found.rows} rows"
        if found.test == "paired"
        else (f"{found.rows} rows vs {found.champion_rows}")
    )
    return (
        f"{metric} {found.challenger:.4f} vs champion {found.champion:.4f} on {rows} "
        f"(p not worse {found.p_not_worse:.3g}, p worse {found.p_worse:.3g}, {found.test})"
    )


def judge(
    stage: Stage,
    version: str,
    metric: str,
    found: NotWorse | None,
    since: datetime,
    now: datetime,
) -> StageVerdict:
    """Advance when significantly not worse over `min_rows`, reject when significantly worse or
    when `max_period` ended undecided, else wait (pure)."""
    settings = stage.settings
    alpha = 1 - settings.confidence
    head = f"{stage.name} of v{version}"
    seen = describe(metric, found) if found is not None and found.rows else "no labelled rows yet"
    if found is not None and found.rows and found.p_worse < alpha:
        return StageVerdict("reject", (f"{head}: significantly worse: {seen}: rejected",))
    enough = found is not None and found.rows >= settings.min_rows
    if enough and found is not None and found.p_not_worse < alpha:
        margin, confidence = settings.margin, f"{settings.confidence:.0%}"
        why = (
            f"not worse by more than {margin:g} at {confidence}"
            if margin >= 0
            else f"better by at least {-margin:g} at {confidence}"
        )
        return StageVerdict("advance", (f"{head}: {why}: {seen}",))
    if now >= since + settings.max_period:
        why = f"undecided after {format_duration(settings.max_period)}"
        return StageVerdict("reject", (f"{head}: {why}: {seen}: rejected",))
    wait = f"waiting for {settings.min_rows} rows" if not enough else "not yet significant"
    return StageVerdict("wait", (f"{head}: {wait}: {seen}",))


def after(policy: Policy, stage: Stage, verdict: StageVerdict) -> tuple[str, Stage | None]:
    """What a verdict does to the staged challenger (pure): "waiting", "rejected", "promoted"
    (the last stage passed), or the next stage's name with that stage to enter."""
    if verdict.action == "wait":
        return "waiting", None
    if verdict.action == "reject":
        return "rejected", None
    following = next_stage(policy, stage.name)
    if following is not None:
        return following.name, following
    return "promoted", None


def gone(stage: str, version: str) -> str:
    """Why a challenger in a stage the policy no longer has is rejected."""
    return f"the policy has no {stage} stage any more: v{version} rejected"


def hold_for_stage(decision: RetrainDecision, version: str, stage: str) -> RetrainDecision:
    """No new training while a challenger is in a stage: its trial decides first (pure)."""
    if not decision.retrain:
        return decision
    reason = f"v{version} is in its {stage} stage: no new training until it is decided"
    return replace(
        decision, retrain=False, suppressed_by=SUPPRESSED_BY, reasons=(*decision.reasons, reason)
    )


def _bucket(key: Any) -> float:
    """A key's place in [0, 1): the first 8 bytes of sha256 of its text (stable everywhere)."""
    digest = hashlib.sha256(str(key).encode()).digest()[:8]
    return int.from_bytes(digest, "big") / 2**64


def to_canary(keys: Any, share: float) -> list[bool]:
    """For each key, whether the canary answers it: the same key always goes the same way."""
    return [_bucket(_plain(key)) < share for key in keys]


def _plain(key: Any) -> Any:
    """A key as its plain value (numpy's 7 and Python's 7 hash alike; 7.0 counts as 7)."""
    value = key.item() if hasattr(key, "item") else key
    return int(value) if isinstance(value, float) and value.is_integer() else value
