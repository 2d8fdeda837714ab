"""What the report shows of one policy, as plain values: its checks, its versions, its quarantine.

The store reads them from the ledger (`retrain_core.store.history`); `report.page` draws them. A
check's signals are its `CheckOutcome` values as the ledger keeps them (`decision.json`), so the
report shows the same numbers, thresholds and reasons as the decision artifact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from retrain_core.base.outcome import CheckOutcome

# The families whose governing outcome is the model's metric: measured on labels, and estimated
# without them. The report draws them as lines with their thresholds; the trend run logs their
# thresholds beside them.
METRIC_FAMILIES = ("performance", "estimated_performance")


def metric_series(check: str) -> bool:
    """True for a rule's model metric (``performance.accuracy``), not a part of it."""
    family, _, rest = check.partition(".")
    return family in METRIC_FAMILIES and bool(rest) and "." not in rest


def drift_feature(check: str) -> str | None:
    """The feature of a per-feature drift statistic (``drift.ks.tenure`` -> tenure), else None."""
    parts = check.split(".", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "drift" else None


@dataclass(frozen=True)
class CheckPoint:
    """One finished check: when, its verdict and reasons, its rows, what its retrain came to."""

    checked_at: datetime
    verdict: str  # retrain, hold, pending, blocked, suppressed
    reasons: tuple[str, ...] = ()
    rows: int | None = None
    training: str = ""  # promoted, rejected, failed, blocked, pending-approval ("": none)
    signals: tuple[CheckOutcome, ...] = ()
    run_id: str = ""

    def signal(self, check: str) -> CheckOutcome | None:
        """This check's outcome named `check`, if it has one."""
        return next((s for s in self.signals if s.check == check), None)


@dataclass(frozen=True)
class VersionEvent:
    """A registered version's moment: promoted, rejected, or the alias rolled back to it."""

    at: datetime
    version: str
    event: str  # promoted, rejected, rolled back
    reason: str = ""


@dataclass(frozen=True)
class HeldBatch:
    """A batch a check set aside as bad data (quarantined, or released since)."""

    found_at: datetime
    key: str
    reason: str
    status: str  # quarantined or released


@dataclass(frozen=True)
class PolicyHistory:
    """Everything the report draws of one policy, oldest first."""

    policy: str
    checks: tuple[CheckPoint, ...]
    versions: tuple[VersionEvent, ...] = ()
    held: tuple[HeldBatch, ...] = ()
    notes: tuple[str, ...] = field(default=())  # e.g. "the newest 500 checks of 812"
