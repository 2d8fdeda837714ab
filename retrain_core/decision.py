"""The retrain decision: a pure function of the rules, the outcomes, the ledger history and `now`.

Nothing here does I/O, so the same `decide()` serves the monitor flow, the tests and backtests.

How a decision is reached, in order:
1. Bad data blocks: any ``data.*`` outcome in ERROR (empty window, missing column, wrong type,
   all-null labels) or any ``quality.*`` outcome not PASS (a failed expectation) suppresses the
   retrain with suppressed_by="data-quality". A model is never trained on data that failed checks.
2. No champion yet: train the first model (a failed or rejected attempt still counts for the
   cooldown and the budget, so a model that cannot pass its gate is not retrained every check).
3. No new data since the last check (a ``data.no_new_data`` outcome): nothing to judge.
4. Each trigger rule fires when its governing outcome FAILs (see `governing_check`).
   `consecutive` hysteresis: a data signal (drift, performance, estimated performance, volume,
   freshness) counts only after it fired on that many checks in a row since the last retrain.
   `max_age` and `new_data` are facts, not noisy signals: they count at once.
5. any / all composition over the rules that count.
6. cooldown (time since the last retrain), then budget (retrains in the sliding window).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from retrain_core.checks.outcome import CheckOutcome, Status
from retrain_core.policy.triggers import Trigger, Triggers

UNSMOOTHED = frozenset({"max_age", "new_data"})


@dataclass(frozen=True)
class LedgerEntry:
    """What the decision needs to remember of one past check (read back from the ledger)."""

    checked_at: datetime
    fired: frozenset[str] = frozenset()
    retrained: bool = False
    judged: bool = True  # False: no new data or bad data; such a check leaves a streak as it is


@dataclass(frozen=True)
class RetrainDecision:
    """The verdict of one monitor run, with the reasons a person reads."""

    retrain: bool
    reasons: tuple[str, ...]
    outcomes: tuple[CheckOutcome, ...]
    suppressed_by: str | None = None
    fired: frozenset[str] = frozenset()
    policy_hash: str = ""
    window: str = ""
    decided_at: datetime | None = None
    first_model: bool = False
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def blocked(self) -> bool:
        """True when bad data stopped the retrain."""
        return self.suppressed_by == "data-quality"

    @property
    def judged(self) -> bool:
        """False when there was nothing to judge (no new data) or the data was bad."""
        return not self.blocked and all(o.check != "data.no_new_data" for o in self.outcomes)

    @property
    def verdict(self) -> str:
        """One word for tables and tags: retrain, blocked, suppressed or hold."""
        if self.retrain:
            return "retrain"
        if self.blocked:
            return "blocked"
        return "suppressed" if self.suppressed_by else "hold"


def governing_check(trigger: Trigger) -> str:
    """The outcome name whose FAIL means this trigger fired (also the rule's id in the ledger)."""
    return trigger.rule_id


def blocking_outcomes(outcomes: Sequence[CheckOutcome]) -> list[CheckOutcome]:
    """Outcomes that mean the data cannot be trusted: bad data errors and failed expectations."""
    return [
        o
        for o in outcomes
        if (o.kind == "data" and o.status is Status.ERROR)
        or (o.kind == "quality" and o.status is not Status.PASS)
    ]


def decide(
    triggers: Triggers,
    outcomes: Sequence[CheckOutcome],
    history: Sequence[LedgerEntry],
    now: datetime,
    has_champion: bool,
    policy_hash: str = "",
    window: str = "",
) -> RetrainDecision:
    """Decide whether to retrain now; `history` is the ledger, oldest first."""
    history = [entry for entry in history if entry.checked_at <= now]  # replays see the past
    fired = _fired_rules(triggers, outcomes)
    verdict: Verdict = partial(
        RetrainDecision,
        outcomes=tuple(outcomes),
        fired=fired,
        policy_hash=policy_hash,
        window=window,
        decided_at=now,
    )
    blockers = blocking_outcomes(outcomes)
    if blockers:
        reasons = ["retraining blocked: the data failed its checks"] + [o.reason for o in blockers]
        return verdict(retrain=False, reasons=tuple(reasons), suppressed_by="data-quality")
    if not has_champion:  # a rejected or failed first model still counts for cooldown and budget
        reason = "no champion yet: training the first model"
        return _apply_limits(triggers, history, now, [reason], partial(verdict, first_model=True))
    no_new = [o for o in outcomes if o.check == "data.no_new_data"]
    if no_new:
        return verdict(retrain=False, reasons=(no_new[0].reason,))
    return _judge(triggers, outcomes, history, now, fired, verdict)


Verdict = Callable[..., RetrainDecision]


def _judge(
    triggers: Triggers,
    outcomes: Sequence[CheckOutcome],
    history: Sequence[LedgerEntry],
    now: datetime,
    fired: frozenset[str],
    verdict: Verdict,
) -> RetrainDecision:
    """Steps 4-6 of the module docstring: hysteresis, composition, cooldown, budget."""
    since_retrain = _since_last_retrain(history)
    counted: list[tuple[str, int, int]] = []
    waiting: list[tuple[str, int, int]] = []
    for rule in triggers.rules:
        rule_id = governing_check(rule)
        if rule_id not in fired:
            continue
        streak = 1 + _streak(rule_id, since_retrain)
        needed = 1 if rule.kind in UNSMOOTHED else triggers.consecutive
        (counted if streak >= needed else waiting).append((rule_id, streak, needed))
    signal_reasons = [_reason_for(rule_id, outcomes) for rule_id, _, _ in counted]
    if triggers.combine == "any":
        signal = bool(counted)
    else:
        signal = len(counted) == len(triggers.rules)
    if not signal:
        if waiting:
            reasons = [
                f"{rule_id} fired on {streak} of {needed} consecutive checks: waiting"
                for rule_id, streak, needed in waiting
            ]
            return verdict(
                retrain=False, reasons=(*reasons, *signal_reasons), suppressed_by="hysteresis"
            )
        if counted:  # all: some but not every rule fired
            missing = [governing_check(r) for r in triggers.rules]
            missing = [rule_id for rule_id in missing if rule_id not in fired]
            reason = f"not every trigger fired: {', '.join(missing)} did not"
            return verdict(retrain=False, reasons=(*signal_reasons, reason))
        return verdict(retrain=False, reasons=("no trigger fired",))
    return _apply_limits(triggers, history, now, signal_reasons, verdict)


def _apply_limits(
    triggers: Triggers,
    history: Sequence[LedgerEntry],
    now: datetime,
    signal_reasons: list[str],
    verdict: Verdict,
) -> RetrainDecision:
    """Cooldown first, then budget: a confirmed signal may still wait."""
    retrains = [e.checked_at for e in history if e.retrained]
    if triggers.cooldown and retrains:
        last = max(retrains)
        if now - last < triggers.cooldown:
            until = last + triggers.cooldown
            reason = (
                f"cooldown: last retrain {_ago(now - last)} ago, "
                f"next allowed after {until:%Y-%m-%d %H:%M} UTC"
            )
            return verdict(
                retrain=False, reasons=(*signal_reasons, reason), suppressed_by="cooldown"
            )
    if triggers.budget:
        recent = [t for t in retrains if now - t < triggers.budget.per]
        if len(recent) >= triggers.budget.max:
            reason = (
                f"budget: {len(recent)} retrains in the last {_ago(triggers.budget.per)} "
                f"(max {triggers.budget.max})"
            )
            return verdict(retrain=False, reasons=(*signal_reasons, reason), suppressed_by="budget")
    return verdict(retrain=True, reasons=tuple(signal_reasons))


def _fired_rules(triggers: Triggers, outcomes: Sequence[CheckOutcome]) -> frozenset[str]:
    """The ids of the rules whose governing outcome failed on this check."""
    failed = {o.check for o in outcomes if o.status is Status.FAIL}
    return frozenset(governing_check(r) for r in triggers.rules if governing_check(r) in failed)


def _since_last_retrain(history: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    """History after the most recent retrain, newest first: a new champion starts a fresh count."""
    newest_first = sorted(history, key=lambda e: e.checked_at, reverse=True)
    result: list[LedgerEntry] = []
    for entry in newest_first:
        if entry.retrained:
            break
        result.append(entry)
    return result


def _streak(rule_id: str, newest_first: Sequence[LedgerEntry]) -> int:
    """How many checks in a row, just before this one, the rule fired on (checks that had
    nothing to judge are skipped: a schedule faster than the data must not break a streak)."""
    count = 0
    for entry in newest_first:
        if not entry.judged:
            continue
        if rule_id not in entry.fired:
            break
        count += 1
    return count


def _reason_for(rule_id: str, outcomes: Sequence[CheckOutcome]) -> str:
    """The governing outcome's reason, prefixed by the rule."""
    for outcome in outcomes:
        if outcome.check == rule_id:
            return f"{rule_id}: {outcome.reason}"
    return rule_id


def _ago(delta: timedelta) -> str:
    """A short human duration: 3d 4h, 25m."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else ""]
    parts.append(f"{minutes}m" if minutes and not days else "")
    return " ".join(p for p in parts if p) or f"{seconds}s"
