"""Volume checks: how many rows arrived, against a baseline and against a minimum.

As everywhere in this package, FAIL means "this trigger's condition holds": for ``volume.rows``
the row count moved more than allowed; for ``new_data.rows`` enough new rows have arrived to be
worth retraining on. PASS means the condition does not hold; ERROR that it cannot be judged.
"""

from __future__ import annotations

from retrain_core.base.outcome import CheckOutcome, Status


def check_volume(
    current_rows: int,
    baseline_rows: int,
    increase_pct: float | None = None,
    decrease_pct: float | None = None,
    baseline_name: str = "reference",
    check: str = "volume.rows",
) -> CheckOutcome:
    """FAIL when the row count rose by >= `increase_pct` % or fell by >= `decrease_pct` %."""
    if current_rows < 0 or baseline_rows < 0:
        return CheckOutcome(check, Status.ERROR, "row counts cannot be negative")
    if baseline_rows == 0:
        reason = f"the {baseline_name} has no rows: a percentage change is undefined"
        return CheckOutcome(check, Status.ERROR, reason, observed=float(current_rows))
    change = (current_rows - baseline_rows) / baseline_rows * 100.0
    rows = f"{current_rows:,} rows vs {baseline_rows:,} in the {baseline_name}: {change:+.3g}%"
    if increase_pct is not None and change >= 0:
        return _judge(check, rows, change, increase_pct, change >= increase_pct)
    if decrease_pct is not None and change <= 0:
        return _judge(check, rows, change, -decrease_pct, -change >= decrease_pct)
    return CheckOutcome(check, Status.PASS, f"{rows} (no bound in this direction)", change)


def _judge(check: str, rows: str, change: float, limit: float, holds: bool) -> CheckOutcome:
    if limit >= 0:
        sign = ">=" if holds else "<"
    else:
        sign = "<=" if holds else ">"
    reason = f"{rows} {sign} {limit:+g}%"
    return CheckOutcome(check, Status.FAIL if holds else Status.PASS, reason, change, limit)


def check_new_data(new_rows: int, min_rows: int, check: str = "new_data.rows") -> CheckOutcome:
    """FAIL (the signal is present) when at least `min_rows` rows arrived since the last check."""
    if new_rows < 0:
        return CheckOutcome(check, Status.ERROR, "row counts cannot be negative")
    if new_rows == 0:
        reason = "no new data since the last check"
        return CheckOutcome(check, Status.PASS, reason, 0.0, float(min_rows))
    holds = new_rows >= min_rows
    reason = f"{new_rows:,} new rows {'>=' if holds else '<'} {min_rows:,}"
    status = Status.FAIL if holds else Status.PASS
    return CheckOutcome(check, status, reason, float(new_rows), float(min_rows))
