"""The retrain decision: a pure function of the rules, the outcomes, the ledger history and `now`.

Nothing here does I/O, so the same `decide()` serves the monitor flow, the tests and backtests.

How a decision is reached, in order:
1. Bad data blocks: any ``data.*`` outcome in ERROR (empty window, missing column, wrong type,
   all-null labels) or any ``quality.*`` outcome not PASS (a failed expectation) suppresses the
   retrain with suppressed_by="data-quality". A model is never trained on data that failed checks.
2. No champion yet: train the first model (a rejected attempt spends budget, so a model that
   cannot pass its gate is not retrained on every check when the policy sets a budget).
   A finding (a ``data.*`` outcome in FAIL: a class the champion never saw) does not block: the
   decision lists its reason after its own.
3. No new data since the last check (a ``data.no_new_data`` outcome): nothing to judge.
4. Each trigger rule fires when its governing outcome FAILs (see `streaks.governing_check`).
   `consecutive` hysteresis: a data signal (drift, performance, estimated performance, volume,
   freshness) counts only after it fired on that many checks in a row since the last retrain.
   `max_age` and `new_data` are facts, not noisy signals: they count at once.
5. any / all composition over the rules that count. Under `all`, a counted rule whose check
   also FAILs its `<rule>.decisive` outcome (a signal strong enough to decide by itself, e.g. a
   `challenger_gain` past its `decisive_gain`) is enough on its own.
6. Labels: when every counted signal is label-blind (drift, estimated performance, volume,
   freshness: the data changed, but no label of the changed rows is known yet), the retrain is
   *pending* until `await_labels` labelled rows from after the change exist (`Fresh`, counted by
   the caller from `change_start`); it then trains, even if the signal has gone quiet, unless
   `confirm_with_labels` finds the champion measuring no worse than its baseline on them (the
   pending retrain is then dismissed; see `pending`). A measured performance drop (any kind that
   reads labels), `max_age` and `new_data` train at once.
7. cooldown (since the last retrain that may have changed the champion: not a rejected or failed
   one), then budget (retrains that produced a model, in the sliding window). A training that
   failed is recorded with its reason and neither starts a cooldown nor spends budget (`limits`).

A confirmation by labels (step 6) and a performance drop (step 4) need a *significant* fall: the
performance outcome carries the p-value of the fall from the champion's baseline, which accounts
for the sample size and, once the champion has served enough, for its usual swing between
batches (`checks.performance.batch_p_value`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial

from retrain_core.base.outcome import CheckOutcome, Status, decisive_check
from retrain_core.data.columns import POLICY_PROBLEM
from retrain_core.decide.limits import apply_limits
from retrain_core.decide.pending import Fresh, await_labels, pending_change
from retrain_core.decide.records import LedgerEntry, RetrainDecision, Verdict
from retrain_core.decide.streaks import counted, fired_rules, governing_check
from retrain_core.policy.registry import kind_of
from retrain_core.policy.triggers import Triggers

# Which kinds are smoothed (`consecutive`), label-blind (the data changed but no label of the
# changed rows is known: training before those labels arrive teaches the model nothing about the
# change) or read labels is each kind's own declaration in `retrain_core.kinds`.


def blocking_outcomes(outcomes: Sequence[CheckOutcome]) -> list[CheckOutcome]:
    """Outcomes that mean the data cannot be trusted: bad data errors and failed expectations."""
    return [
        o
        for o in outcomes
        if (o.kind == "data" and o.status is Status.ERROR)
        or (o.kind == "quality" and o.status is not Status.PASS)
    ]


POLICY_CHECK = f"data.{POLICY_PROBLEM}"  # a policy that does not match its data


def _blocked_reason(blockers: Sequence[CheckOutcome]) -> str:
    """Whose mistake blocks the check: the policy's when every blocker is about the policy."""
    if all(o.check == POLICY_CHECK for o in blockers):
        return "retraining blocked: the policy does not match its data (no batch was set aside)"
    return "retraining blocked: the data failed its checks"


def findings(outcomes: Sequence[CheckOutcome]) -> list[CheckOutcome]:
    """Facts about the data that neither block nor fire (``data.*`` outcomes in FAIL, such as a
    class the champion never saw): every decision lists their reasons after its own."""
    return [o for o in outcomes if o.kind == "data" and o.status is Status.FAIL]


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
    policy has no late labels to wait for. The findings' reasons follow the decision's own.
    """
    decision = _decide(triggers, outcomes, history, now, has_champion, policy_hash, window, fresh)
    notes = tuple(o.reason for o in findings(outcomes))
    return replace(decision, reasons=(*decision.reasons, *notes)) if notes else decision


def _decide(
    triggers: Triggers,
    outcomes: Sequence[CheckOutcome],
    history: Sequence[LedgerEntry],
    now: datetime,
    has_champion: bool,
    policy_hash: str = "",
    window: str = "",
    fresh: Fresh | None = None,
) -> RetrainDecision:
    """The decision, steps 1-7 of the module docstring."""
    history = [entry for entry in history if entry.checked_at <= now]  # replays see the past
    fired = fired_rules(triggers, outcomes)
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
        reasons = [_blocked_reason(blockers)] + [o.reason for o in blockers]
        return verdict(retrain=False, reasons=tuple(reasons), suppressed_by="data-quality")
    if not has_champion:  # a rejected first model spends budget
        reason = "no champion yet: training the first model"
        return apply_limits(triggers, history, now, [reason], partial(verdict, first_model=True))
    no_new = [o for o in outcomes if o.check == "data.no_new_data"]
    if no_new:
        return verdict(retrain=False, reasons=(no_new[0].reason,))
    return _judge(triggers, outcomes, history, now, fired, verdict, fresh)


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
    counts, waiting = counted(triggers, history, fired)
    signal_reasons = [_reason_for(rule_id, outcomes) for rule_id, _, _ in counts]
    if triggers.combine == "any":
        signal = bool(counts)
    else:
        signal = len(counts) == len(triggers.rules)
        alone = [rule_id for rule_id, _, _ in counts if _decisive(rule_id, outcomes)]
        if alone and not signal:
            signal, counts = True, [c for c in counts if c[0] in alone]
            said = [_reason_for(rule_id, outcomes) for rule_id in alone]
            signal_reasons = [*said, *(_reason_for(decisive_check(r), outcomes) for r in alone)]
    pending = pending_change(history)
    if signal or pending is not None:
        kinds = {_kind(triggers, rule_id) for rule_id, _, _ in counts} if signal else set()
        if kinds and not all(kind_of(kind).label_blind for kind in kinds):
            measured = any(kind_of(kind).reads_labels for kind in kinds)
            if measured and fresh is not None:  # the drop shows in these rows
                verdict = partial(verdict, train_since=fresh.measured_since)
            return apply_limits(triggers, history, now, signal_reasons, verdict)
        if not signal:
            signal_reasons = [f"a retrain has been pending since {pending:%Y-%m-%d %H:%M} UTC"]
        return await_labels(triggers, history, now, signal_reasons, verdict, fresh, outcomes)
    if waiting:
        reasons = [
            f"{rule_id} fired on {streak} of {needed} consecutive checks: waiting"
            for rule_id, streak, needed in waiting
        ]
        return verdict(
            retrain=False, reasons=(*reasons, *signal_reasons), suppressed_by="hysteresis"
        )
    if counts:  # all: some but not every rule fired
        missing = [governing_check(r) for r in triggers.rules]
        missing = [rule_id for rule_id in missing if rule_id not in fired]
        reason = f"not every trigger fired: {', '.join(missing)} did not"
        return verdict(retrain=False, reasons=(*signal_reasons, reason))
    return verdict(retrain=False, reasons=("no trigger fired",))


def _decisive(rule_id: str, outcomes: Sequence[CheckOutcome]) -> bool:
    """True when the rule's signal on this check is strong enough to decide alone."""
    wanted = decisive_check(rule_id)
    return any(o.check == wanted and o.status is Status.FAIL for o in outcomes)


def _kind(triggers: Triggers, rule_id: str) -> str:
    """The kind of the rule with this id (drift, performance, ...)."""
    return next(rule.kind for rule in triggers.rules if governing_check(rule) == rule_id)


def _reason_for(rule_id: str, outcomes: Sequence[CheckOutcome]) -> str:
    """The governing outcome's reason, prefixed by the rule."""
    for outcome in outcomes:
        if outcome.check == rule_id:
            return f"{rule_id}: {outcome.reason}"
    return rule_id
