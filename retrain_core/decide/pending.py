"""A retrain that waits for labels: a label-blind signal (drift, volume, ...) says the data
changed, but a model trained before labels of the changed rows exist cannot learn the change.

The retrain is pending until `await_labels` labelled rows from after the change exist (`Fresh`,
counted by the caller from `change_start`); it then trains, unless `confirm_with_labels` finds
the champion measuring no worse than its baseline on them (the pending retrain is dismissed).
The baseline is the one the label-reading rule measured from (its `threshold` plus `drop`): with
the performance trigger's detector, the champion's reference fixed when it started serving, and
its `p_value` that of the fall sustained over the current run of batches, so labels that show a
slow fall confirm the drift instead of dismissing it; a rule that fired confirms it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.decide.limits import ago, apply_limits
from retrain_core.decide.records import AWAITING_LABELS, LedgerEntry, RetrainDecision, Verdict
from retrain_core.policy.base import greater_is_better
from retrain_core.policy.triggers import Triggers


@dataclass(frozen=True)
class Fresh:
    """Labelled rows from after a change: how many are known now, and since when they count."""

    since: datetime
    rows: int
    lag: timedelta | None = None  # how late labels usually arrive (data.labels.lag)
    measured_since: datetime | None = None  # oldest of the rows performance was measured on


def pending_change(history: Sequence[LedgerEntry]) -> datetime | None:
    """Since when an open pending retrain waits for labels (None when none is open)."""
    if not history:
        return None
    newest = max(history, key=lambda e: e.checked_at)
    return None if newest.trained else newest.pending_since


def change_start(history: Sequence[LedgerEntry], window_start: datetime) -> datetime:
    """Where the labels a retrain needs start: the open pending change, else this window."""
    return pending_change(history) or window_start


def await_labels(
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
        return apply_limits(triggers, history, now, signal_reasons, verdict)
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
        return apply_limits(triggers, history, now, [*signal_reasons, *notes], verdict)
    late = f"; labels arrive about {ago(fresh.lag)} late" if fresh.lag else ""
    reason = (
        f"pending retrain: waiting for {needed} labelled rows from after {since} "
        f"(have {fresh.rows}{late}); training before they arrive cannot learn the change"
    )
    return verdict(retrain=False, reasons=(*signal_reasons, reason), suppressed_by=AWAITING_LABELS)


def _confirmation(triggers: Triggers, outcomes: Sequence[CheckOutcome]) -> tuple[bool | None, str]:
    """Whether the newly labelled rows show harm: the measured metric below its baseline.

    None when the policy measures nothing on labels (or could not): nothing can confirm then.
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
        if found[0].failed:  # the rule itself signals harm (a sustained fall, a bound crossed)
            return True, f"{measured} ({rule.rule_id} fired)"
        p_value = found[0].p_value
        if not worse or p.confidence is None or p_value is None:
            return worse, measured
        alpha = 1 - p.confidence
        if p_value < alpha:
            return True, f"{measured} (significant: p={p_value:.2g} < {alpha:.2g})"
        return False, f"{measured}, within chance (p={p_value:.2g} >= {alpha:.2g})"
    return None, ""
