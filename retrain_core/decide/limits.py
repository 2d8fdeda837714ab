"""What holds a called-for retrain back: the cooldown since the last one, then the budget.

The cooldown runs from the last retrain that may have changed the champion (a rejected or
failed challenger changed nothing to settle); the budget counts every training that produced
a model, promoted or rejected (a failed one produced nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from retrain_core.decide.records import LedgerEntry, RetrainDecision, Verdict
from retrain_core.policy.triggers import Triggers


def apply_limits(
    triggers: Triggers,
    history: Sequence[LedgerEntry],
    now: datetime,
    signal_reasons: list[str],
    verdict: Verdict,
) -> RetrainDecision:
    """Cooldown first, then budget: a confirmed signal may still wait."""
    retrains = [e.checked_at for e in history if e.trained]
    replaced = [e.checked_at for e in history if e.replaced]
    if triggers.cooldown and replaced:
        last = max(replaced)
        if now - last < triggers.cooldown:
            until = last + triggers.cooldown
            reason = (
                f"cooldown: last retrain {ago(now - last)} ago, "
                f"next allowed after {until:%Y-%m-%d %H:%M} UTC"
            )
            return verdict(
                retrain=False, reasons=(*signal_reasons, reason), suppressed_by="cooldown"
            )
    if triggers.budget:
        recent = [t for t in retrains if now - t < triggers.budget.per]
        if len(recent) >= triggers.budget.max:
            reason = (
                f"budget: {len(recent)} retrains in the last {ago(triggers.budget.per)} "
                f"(max {triggers.budget.max})"
            )
            return verdict(retrain=False, reasons=(*signal_reasons, reason), suppressed_by="budget")
    return verdict(retrain=True, reasons=tuple(signal_reasons))


def ago(delta: timedelta) -> str:
    """A short human duration for the decision's reasons: 3d 4h, 25m."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else ""]
    parts.append(f"{minutes}m" if minutes and not days else "")
    return " ".join(p for p in parts if p) or f"{seconds}s"
