"""The one value every check returns: what was measured, against what, and why it passed or not."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

SECONDS = "s"  # the unit of a CheckOutcome that measures a duration (an age, a delay)


class Status(StrEnum):
    """PASS and FAIL mean the check ran; ERROR means it could not be computed."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check on one window.

    `check` is a dotted name such as ``drift.ks.tenure`` or ``quality.<expectation>.<column>``.
    `status` FAIL means the data fails the check (a signal); ERROR means the check could not be
    computed and never triggers a retrain by itself. `observed` and `threshold` are numbers where
    the check has them, and `reason` is a sentence for people ("p=0.003 < 0.01 and D=0.21 >= 0.1").
    """

    check: str
    status: Status
    reason: str
    observed: float | None = None
    threshold: float | None = None
    # performance checks: one-sided p-value that the metric is worse than its baseline by chance
    # (None: not tested); not part of `as_dict`, the reason carries it for people
    p_value: float | None = None
    # what `observed` and `threshold` count: "" (a plain number) or SECONDS (a duration, which
    # reports show as `90d`)
    unit: str = ""

    @property
    def failed(self) -> bool:
        """True when the check ran and the data fails it."""
        return self.status is Status.FAIL

    @property
    def kind(self) -> str:
        """The check family: the first part of `check` ("drift", "quality", "performance", ...)."""
        return self.check.split(".", 1)[0]

    def as_dict(self) -> dict[str, object]:
        """A JSON-safe dict (NaN and infinities become None) for ledgers and artifacts."""
        return {
            "check": self.check,
            "status": self.status.value,
            "observed": _finite(self.observed),
            "threshold": _finite(self.threshold),
            "reason": self.reason,
            "unit": self.unit,
        }


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def decisive_check(rule_id: str) -> str:
    """The outcome a rule may add whose FAIL says its signal is strong enough to call for a
    retrain by itself, even where `all` asks every trigger to fire (`decide.decision`)."""
    return f"{rule_id}.decisive"
