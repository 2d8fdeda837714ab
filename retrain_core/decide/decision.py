"""The retrain decision: a pure function of the rules, the outcomes, the ledger history and `now`.

Nothing here does I/O, so the same `decide()` serves the monitor flow, the tests and backtests.

How a decision is reached, in order:
1. Bad data blocks: any ``data.*`` outcome in ERROR (empty window, missing column, wrong type,
   all-null labels) or any ``quality.*`` outcome not PASS (a failed expectation) suppresses the
   retrain with suppressed_by="data-quality". A model is never trained on data that failed checks.
2. No champion yet: train the first model (a rejected attempt spends budget, so a model that
   cannot pass its gate is not retrained on every check when the policy sets a budget).
3. No new data since the last check (a ``data.no_new_data`` outcome): nothing to judge.
4. Each trigger rule fires when its governing outcome FAILs (see `governing_check`).
   `consecutive` hysteresis: a data signal (drift, performance, estimated performance, volume,
   freshness) counts only after it fired on that many checks in a row since the last retrain.
   `max_age` and `new_data` are facts, not noisy signals: they count at once.
5. any / all composition over the rules that count.
6. Labels: when every counted signal is label-blind (drift, estimated performance, volume,
   freshness: the data changed, but no label of the changed rows is known yet), the retrain is
   *pending* until `await_labels` labelled rows from after the change exist (`Fresh`, counted by
   the caller from `change_start`); it then trains, even if the signal has gone quiet, unless
   `confirm_with_labels` finds the champion measuring no worse than its baseline on them (the
   pending retrain is then dismissed). A measured performance drop, `max_age` and `new_data`
   train at once.
7. cooldown (since the last retrain that may have changed the champion: not a rejected or failed
   one), then budget (retrains that produced a model, in the sliding window). A training that
   failed is recorded with its reason and neither starts a cooldown nor spends budget.

A confirmation by labels (step 6) and a performance drop (step 4) need a *significant* fall: the
performance outcome carries the p-value of the fall from the champion's baseline, which accounts
for the sample size and, once the champion has served enough, for its usual swing between
batches (`checks.performance.batch_p_value`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.base.statistics import around_median, ordinary
from retrain_core.policy.base import greater_is_better
from retrain_core.policy.registry import kind_of, reads_labels
from retrain_core.policy.triggers import Trigger, Triggers

# Which kinds are smoothed (`consecutive`) and which are label-blind (the data changed but no label
# of the changed rows is known: training before those labels arrive teaches the model nothing
# about the change) is each kind's own declaration in `retrain_core.kinds`.
AWAITING_LABELS = "awaiting-labels"


@dataclass(frozen=True)
class LedgerEntry:
    """What the decision needs to remember of one past check (read back from the ledger)."""

    checked_at: datetime
    fired: frozenset[str] = frozenset()
    retrained: bool = False
    judged: bool = True  # False: no new data or bad data; such a check leaves a streak as it is
    training: str = ""  # promoted, rejected, failed or blocked ("": not known)
    pending_since: datetime | None = None  # a retrain waits for labels of rows from then on
    # what the performance rules measured on this check's newly labelled rows, by rule id
    measured: tuple[tuple[str, float], ...] = ()

    @property
    def trained(self) -> bool:
        """True when this check started a training that produced a model (spends budget)."""
        return self.retrained and self.training in ("", "promoted", "rejected")

    @property
    def replaced(self) -> bool:
        """True when this check's retrain may have changed the champion (starts a cooldown)."""
        return self.retrained and self.training in ("", "promoted")


@dataclass(frozen=True)
class Fresh:
    """Labelled rows from after a change: how many are known now, and since when they count."""

    since: datetime
    rows: int
    lag: timedelta | None = None  # how late labels usually arrive (data.labels.lag)
    measured_since: datetime | None = None  # oldest of the rows performance was measured on


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
    pending_since: datetime | None = None
    train_since: datetime | None = None  # the change a retrain answers: train on rows from then
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def ledger_entry(self, training: str = "") -> LedgerEntry:
        """What the ledger remembers of this decision and its training's outcome, if any."""
        assert self.decided_at is not None, "a recorded decision has its moment"
        failed = training in ("failed", "blocked")  # no model: the change is still unanswered
        return LedgerEntry(
            checked_at=self.decided_at,
            fired=self.fired,
            retrained=self.retrain,
            judged=self.judged,
            training=training if self.retrain else "",
            pending_since=self.pending_since if failed or not self.retrain else None,
            measured=measured_values(self.outcomes),
        )

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
        if self.suppressed_by == AWAITING_LABELS:
            return "pending"
        return "suppressed" if self.suppressed_by else "hold"


def measured_values(outcomes: Sequence[CheckOutcome]) -> tuple[tuple[str, float], ...]:
    """The metric each label-reading rule measured (PASS or FAIL: an ERROR measured nothing)."""
    return tuple(
        (o.check, float(o.observed))
        for o in outcomes
        if reads_labels(o.kind) and o.status is not Status.ERROR and o.observed is not None
    )


def swings(history: Sequence[LedgerEntry]) -> dict[str, tuple[float, ...]]:
    """The stream's usual swing between checks, by performance rule: what each earlier champion
    measured on each check it served, less that champion's own median level (so a new champion,
    with too few live batches of its own, is judged against the swing its predecessors showed).

    A champion's checks run from the check after the retrain that promoted it to the check that
    replaced it (its measurement there was still of the old one); one measured on fewer than
    three checks shows no swing. Deviations beyond 3 robust standard deviations (1.4826 MAD) of
    all of them are left out: the fall that ended a champion is a change, not its usual swing.
    """
    served: list[list[tuple[str, float]]] = [[]]
    for entry in sorted(history, key=lambda e: e.checked_at):
        served[-1].extend(entry.measured)
        if entry.replaced:
            served.append([])
    found: dict[str, list[float]] = {}
    for checks in served[:-1]:  # the serving champion's own checks are its live batches
        by_rule: dict[str, list[float]] = {}
        for rule_id, value in checks:
            if value == value:  # not NaN
                by_rule.setdefault(rule_id, []).append(value)
        for rule_id, values in by_rule.items():
            if len(values) >= 3:
                found.setdefault(rule_id, []).extend(around_median(values))
    return {rule_id: tuple(ordinary(deviations)) for rule_id, deviations in found.items()}


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
    fresh: Fresh | None = None,
) -> RetrainDecision:
    """Decide whether to retrain now; `history` is the ledger, oldest first.

    `fresh` counts the labelled rows from after the change (see `change_start`); None means the
    policy has no late labels to wait for.
    """
    history = [entry for entry in history if entry.checked_at <= now]  # replays see the past
    fired = _fired_rules(triggers, outcomes)
    verdict: Verdict = partial(
        RetrainDecision,
        outcomes=tuple(outcomes),
        fired=fired,
        policy_hash=policy_hash,
        window=window,
        decided_at=now,
        pending_since=pending_change(history),
    )
    blockers = blocking_outcomes(outcomes)
    if blockers:
        reasons = ["retraining blocked: the data failed its checks"] + [o.reason for o in blockers]
        return verdict(retrain=False, reasons=tuple(reasons), suppressed_by="data-quality")
    if not has_champion:  # a rejected first model spends budget
        reason = "no champion yet: training the first model"
        return _apply_limits(triggers, history, now, [reason], partial(verdict, first_model=True))
    no_new = [o for o in outcomes if o.check == "data.no_new_data"]
    if no_new:
        return verdict(retrain=False, reasons=(no_new[0].reason,))
    return _judge(triggers, outcomes, history, now, fired, verdict, fresh)


Verdict = Callable[..., RetrainDecision]


def pending_change(history: Sequence[LedgerEntry]) -> datetime | None:
    """Since when an open pending retrain waits for labels (None when none is open)."""
    if not history:
        return None
    newest = max(history, key=lambda e: e.checked_at)
    return None if newest.trained else newest.pending_since


def change_start(history: Sequence[LedgerEntry], window_start: datetime) -> datetime:
    """Where the labels a retrain needs start: the open pending change, else this window."""
    return pending_change(history) or window_start


def _judge(
    triggers: Triggers,
    outcomes: Sequence[CheckOutcome],
    history: Sequence[LedgerEntry],
    now: datetime,
    fired: frozenset[str],
    verdict: Verdict,
    fresh: Fresh | None,
) -> RetrainDecision:
    """Steps 4-7 of the module docstring: hysteresis, composition, labels, cooldown, budget."""
    counted, waiting = _counted(triggers, history, fired)
    signal_reasons = [_reason_for(rule_id, outcomes) for rule_id, _, _ in counted]
    if triggers.combine == "any":
        signal = bool(counted)
    else:
        signal = len(counted) == len(triggers.rules)
    pending = pending_change(history)
    if signal or pending is not None:
        kinds = {_kind(triggers, rule_id) for rule_id, _, _ in counted} if signal else set()
        if kinds and not all(kind_of(kind).label_blind for kind in kinds):
            measured = any(kind_of(kind).reads_labels for kind in kinds)
            if measured and fresh is not None:  # the drop shows in these rows
                verdict = partial(verdict, train_since=fresh.measured_since)
            return _apply_limits(triggers, history, now, signal_reasons, verdict)
        if not signal:
            signal_reasons = [f"a retrain has been pending since {pending:%Y-%m-%d %H:%M} UTC"]
        return _await_labels(triggers, history, now, signal_reasons, verdict, fresh, outcomes)
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


def _counted(
    triggers: Triggers, history: Sequence[LedgerEntry], fired: frozenset[str]
) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """The fired rules that count (streak long enough) and those still waiting, with streaks."""
    since_retrain = _since_last_retrain(history)
    counted: list[tuple[str, int, int]] = []
    waiting: list[tuple[str, int, int]] = []
    for rule in triggers.rules:
        rule_id = governing_check(rule)
        if rule_id not in fired:
            continue
        streak = 1 + _streak(rule_id, since_retrain)
        needed = triggers.consecutive if rule.smoothed else 1
        (counted if streak >= needed else waiting).append((rule_id, streak, needed))
    return counted, waiting


def _await_labels(
    triggers: Triggers,
    history: Sequence[LedgerEntry],
    now: datetime,
    signal_reasons: list[str],
    verdict: Verdict,
    fresh: Fresh | None,
    outcomes: Sequence[CheckOutcome] = (),
) -> RetrainDecision:
    """A label-blind signal retrains once enough labelled rows from after the change exist
    (with `confirm_with_labels`, only if the champion measures worse than its baseline there)."""
    needed = triggers.await_labels
    if fresh is None or needed == 0:
        return _apply_limits(triggers, history, now, signal_reasons, verdict)
    since = f"{fresh.since:%Y-%m-%d %H:%M} UTC"
    verdict = partial(verdict, pending_since=fresh.since)
    if fresh.rows >= needed:
        note = f"{fresh.rows} labelled rows from after {since} have arrived (>= {needed})"
        harmed, measured = _confirmation(triggers, outcomes)
        if harmed is False:
            dismissed = f"{note}; {measured}: no harm, the pending retrain is dismissed"
            return verdict(retrain=False, reasons=(*signal_reasons, dismissed), pending_since=None)
        verdict = partial(verdict, train_since=fresh.since)
        notes = [note, measured] if measured else [note]
        return _apply_limits(triggers, history, now, [*signal_reasons, *notes], verdict)
    late = f"; labels arrive about {_ago(fresh.lag)} late" if fresh.lag else ""
    reason = (
        f"pending retrain: waiting for {needed} labelled rows from after {since} "
        f"(have {fresh.rows}{late}); training before they arrive cannot learn the change"
    )
    return verdict(retrain=False, reasons=(*signal_reasons, reason), suppressed_by=AWAITING_LABELS)


def _confirmation(triggers: Triggers, outcomes: Sequence[CheckOutcome]) -> tuple[bool | None, str]:
    """Whether the newly labelled rows show harm: the measured metric below its baseline.

    None when the policy measures no performance (or could not): nothing can confirm then.
    """
    if not triggers.confirm_with_labels:
        return None, ""
    for rule in triggers.rules:
        p = rule.check_kind.measures(rule.config)
        if p is None or p.drop is None:
            continue
        found = [o for o in outcomes if o.check == rule.rule_id and o.status is not Status.ERROR]
        if not found or found[0].observed is None or found[0].threshold is None:
            continue
        observed, threshold = found[0].observed, found[0].threshold
        higher = greater_is_better(p.metric)
        baseline = threshold + p.drop if higher else threshold - p.drop
        worse = observed < baseline if higher else observed > baseline
        sign = ("<" if higher else ">") if worse else (">=" if higher else "<=")
        measured = f"measured {p.metric} {observed:.4g} {sign} baseline {baseline:.4g}"
        p_value = found[0].p_value
        if not worse or p.confidence is None or p_value is None:
            return worse, measured
        alpha = 1 - p.confidence
        if p_value < alpha:
            return True, f"{measured} (significant: p={p_value:.2g} < {alpha:.2g})"
        return False, f"{measured}, within chance (p={p_value:.2g} >= {alpha:.2g})"
    return None, ""


def _kind(triggers: Triggers, rule_id: str) -> str:
    """The kind of the rule with this id (drift, performance, ...)."""
    return next(rule.kind for rule in triggers.rules if governing_check(rule) == rule_id)


def _apply_limits(
    triggers: Triggers,
    history: Sequence[LedgerEntry],
    now: datetime,
    signal_reasons: list[str],
    verdict: Verdict,
) -> RetrainDecision:
    """Cooldown first, then budget: a confirmed signal may still wait.

    The cooldown runs from the last retrain that may have changed the champion (a rejected or
    failed challenger changed nothing to settle); the budget counts every training that produced
    a model, promoted or rejected (a failed one produced nothing).
    """
    retrains = [e.checked_at for e in history if e.trained]
    replaced = [e.checked_at for e in history if e.replaced]
    if triggers.cooldown and replaced:
        last = max(replaced)
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
        if entry.replaced:
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
