"""The stream's usual swing between checks, by label-reading rule, read from the ledger.

A champion too new to have served enough batches of its own is judged against the swing its
predecessors showed (`kinds.performance`), so one ordinary low batch is not a significant fall.
"""

from __future__ import annotations

from collections.abc import Sequence

from retrain_core.base.statistics import around_median, ordinary
from retrain_core.decide.records import LedgerEntry


def swings(history: Sequence[LedgerEntry]) -> dict[str, tuple[float, ...]]:
    """The stream's usual swing between checks, by label-reading rule: what each earlier champion
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
