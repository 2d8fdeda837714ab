"""What the decision remembers: one past check (`LedgerEntry`) and one verdict (`RetrainDecision`).

The store writes a `RetrainDecision` to the ledger and reads `LedgerEntry` values back; `decide`
reads them to count streaks, cooldowns, budgets, pending retrains and the stream's usual swing.
No I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.policy.registry import reads_labels

# suppressed_by of a retrain that waits for labels of the changed rows (verdict "pending")
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
    # what the label-reading rules measured on this check's newly labelled rows, by rule id
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


# a RetrainDecision with this check's fields filled in: the steps of `decide` add the rest
Verdict = Callable[..., RetrainDecision]


def measured_values(outcomes: Sequence[CheckOutcome]) -> tuple[tuple[str, float], ...]:
    """The metric each label-reading rule measured (PASS or FAIL: an ERROR measured nothing)."""
    return tuple(
        (o.check, float(o.observed))
        for o in outcomes
        if reads_labels(o.kind) and o.status is not Status.ERROR and o.observed is not None
    )
