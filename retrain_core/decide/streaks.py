"""Which rules fired on this check, and for how many checks in a row (`consecutive` hysteresis).

A smoothed signal (drift, performance, volume, ...) counts only once it fired on `consecutive`
checks in a row since the last retrain; a fact (`max_age`, `new_data`) counts at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.decide.records import LedgerEntry
from retrain_core.policy.triggers import Trigger, Triggers

Streak = tuple[str, int, int]  # rule id, checks in a row it fired on, checks it needs


def governing_check(trigger: Trigger) -> str:
    """The outcome name whose FAIL means this trigger fired (also the rule's id in the ledger)."""
    return trigger.rule_id


def fired_rules(triggers: Triggers, outcomes: Sequence[CheckOutcome]) -> frozenset[str]:
    """The ids of the rules whose governing outcome failed on this check."""
    failed = {o.check for o in outcomes if o.status is Status.FAIL}
    return frozenset(governing_check(r) for r in triggers.rules if governing_check(r) in failed)


def counted(
    triggers: Triggers, history: Sequence[LedgerEntry], fired: frozenset[str]
) -> tuple[list[Streak], list[Streak]]:
    """The fired rules that count (streak long enough) and those still waiting, with streaks."""
    since_retrain = _since_last_retrain(history)
    counts: list[Streak] = []
    waiting: list[Streak] = []
    for rule in triggers.rules:
        rule_id = governing_check(rule)
        if rule_id not in fired:
            continue
        streak = 1 + _streak(rule_id, since_retrain)
        needed = triggers.consecutive if rule.smoothed else 1
        (counts if streak >= needed else waiting).append((rule_id, streak, needed))
    return counts, waiting


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
