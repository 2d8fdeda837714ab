"""A sequential detector of a sustained fall in the per-batch metric from a FIXED reference.

Page-Hinkley as river and scikit-multiflow implement it (`x_mean` the running mean of every value
seen, `sum = max(0, alpha * sum + x - x_mean - delta)`, alarm when `sum > threshold`, reset after
an alarm) measures each value against the running mean of the stream itself: when accuracy decays
slowly, or an old concept comes back, the mean follows the decay and the sum stays small. Here the
mean is the champion's reference performance, fixed when it started serving (Page's one-sided
CUSUM with a known in-control mean), and each batch's fall is counted in batch standard deviations:

    S_t = max(0, S_{t-1} + (fall_t - slack) / sd),   alarm when S_t > threshold

`fall_t` is how far the batch's metric is worse than the reference, `slack` the fall that is
tolerated for ever (half the policy's `drop`, the classical k = half the shift to detect), `sd` the
batch metric's usual spread (its sampling error at the batch size, or the champion's or the
stream's usual swing between batches when larger). A sudden fall of several sds fires at once; a
slow one accumulates until it has lasted long enough. After an alarm on an earlier batch the sum
starts again from 0 (that alarm was answered by that check), as river's detector resets.

Pure: the caller passes the per-batch values; the same values give the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrain_core.base.outcome import CheckOutcome, Status

MIN_SWING_BATCHES = 8  # earlier batches needed before their spread is estimated well enough


@dataclass(frozen=True)
class Cusum:
    """The detector after the newest batch."""

    statistic: float  # S at the newest batch, in batch standard deviations
    alarm: bool  # S > threshold at the newest batch
    run: int  # batches in the current excursion (S > 0 since), the newest included
    run_fall: float  # mean fall from the reference over those batches
    p_value: float | None  # one-sided p that the run's mean fall is chance (None: no fall)


def cusum(
    values: Sequence[float],
    reference: float,
    slack: float,
    sd: float,
    threshold: float,
    higher: bool = True,
) -> Cusum:
    """Run the one-sided CUSUM over per-batch `values` (oldest first) against `reference`."""
    sd = max(sd, 1e-9)
    s, falls = 0.0, list[float]()  # falls of the current excursion
    finite = [v for v in values if math.isfinite(v)]
    for i, value in enumerate(finite):
        fall = reference - value if higher else value - reference
        s = max(0.0, s + (fall - slack) / sd)
        falls = [*falls, fall] if s > 0 else []
        if s > threshold and i < len(finite) - 1:  # answered by that check: start again
            s, falls = 0.0, []
    if not finite:
        return Cusum(0.0, False, 0, 0.0, None)
    newest = reference - finite[-1] if higher else finite[-1] - reference
    run = falls or [newest]
    mean = float(np.mean(run))
    p = None if newest <= 0 else run_p_value(mean, len(run), sd)
    return Cusum(s, s > threshold, len(falls), mean, p)


def run_p_value(mean_fall: float, batches: int, sd: float) -> float:
    """One-sided p-value of a mean fall over `batches` batches whose metric swings by `sd`."""
    z = mean_fall / (max(sd, 1e-9) / math.sqrt(max(batches, 1)))
    return 0.5 * math.erfc(z / math.sqrt(2))


def successive_sd(values: Sequence[float]) -> float | None:
    """The spread of batch values around their local level, robust to a trend and to one step.

    1.4826 * median |x_t - x_{t-1}| / sqrt(2): a slow decay or a single change of level barely
    moves it, so the fall under test does not widen its own yardstick. None with fewer than
    MIN_SWING_BATCHES values.
    """
    kept = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if len(kept) < MIN_SWING_BATCHES:
        return None
    return float(1.4826 * np.median(np.abs(np.diff(kept))) / math.sqrt(2))


def borrowed_sd(deviations: Sequence[float]) -> float | None:
    """The spread of the swing earlier champions showed (`decide.swings`), None with < 3."""
    kept = np.asarray([d for d in deviations if math.isfinite(d)], dtype=float)
    return float(kept.std(ddof=1)) if len(kept) >= 3 else None


def sampling_sd(
    name: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    reference: float,
    classes: Any = None,
) -> float:
    """The metric's sampling error on a batch of this size: binomial for accuracy, else a
    seeded bootstrap of the batch (0 when it cannot be computed)."""
    from retrain_core.checks.performance import compute_metric

    n = len(y_true)
    if n == 0:
        return 0.0
    if name == "accuracy":
        level = min(max(reference, 0.0), 1.0)
        return math.sqrt(level * (1 - level) / n)
    rng, values = np.random.default_rng(0), []
    for _ in range(100):
        idx = rng.integers(0, n, n)
        try:
            values.append(
                compute_metric(
                    name, y_true[idx], y_pred[idx], None if proba is None else proba[idx], classes
                )
            )
        except ValueError:
            continue
    return float(np.std(values, ddof=1)) if len(values) > 2 else 0.0


@dataclass(frozen=True)
class Served:
    """What the champion served, oldest first, as labels, predictions and probabilities: its
    reference stretch (the first `reference_rows`), then every later row; the newest `size` rows
    are this check's batch."""

    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None
    reference_rows: int
    size: int
    classes: Any = None  # the model's `classes_` (its probability columns), for a new class

    def part(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Labels, predictions and probabilities of rows [start, stop)."""
        proba = None if self.proba is None else self.proba[start:stop]
        return self.y_true[start:stop], self.y_pred[start:stop], proba


def batch_values(name: str, served: Served) -> list[float]:
    """The metric on consecutive runs of `size` rows after the reference, anchored at the newest
    row (the last run is this check's batch; older rows that do not fill a run are left out)."""
    from retrain_core.checks.performance import compute_metric

    values, total, size = [], len(served.y_true), max(served.size, 1)
    first = served.reference_rows + (total - served.reference_rows) % size
    for start in range(first, total - size + 1, size):
        try:
            part = served.part(start, start + size)
            values.append(compute_metric(name, *part, served.classes))
        except ValueError:
            values.append(math.nan)
    return values


def detect_fall(
    name: str,
    served: Served,
    drop: float,
    threshold: float,
    swings: Sequence[float] = (),
    bound: float | None = None,
    check: str | None = None,
) -> CheckOutcome | None:
    """The champion's metric on this batch judged by the CUSUM against its fixed reference.

    The reference is its metric on its first `reference_rows` live rows; the series its metric
    on each later batch-sized run of rows. The batch sd is the largest of the sampling error at
    the batch size, the champion's own swing between its earlier runs (`successive_sd`, once it
    has MIN_SWING_BATCHES of them) or else the swing its predecessors showed (`swings`). The
    outcome carries the metric in `observed`, the reference less `drop` in `threshold` and the
    p-value of the current run's mean fall in `p_value`. None when the reference or the batch
    cannot be computed (the caller falls back to its point test).
    """
    from retrain_core.checks.performance import compute_metric, metric_direction

    higher, check = metric_direction(name), check or f"performance.{name}"
    try:
        reference = compute_metric(name, *served.part(0, served.reference_rows), served.classes)
    except ValueError:
        return None
    values = batch_values(name, served)
    if not values or not math.isfinite(values[-1]):
        return None
    newest = served.part(len(served.y_true) - served.size, len(served.y_true))
    spreads = [sampling_sd(name, *newest, reference, served.classes)]
    own = successive_sd(values[:-1])
    spreads.append(own if own is not None else (borrowed_sd(swings) or 0.0))
    sd = max(spreads)
    found = cusum(values, reference, drop / 2, sd, threshold, higher)
    value = values[-1]
    limit = reference - drop if higher else reference + drop
    beyond = bound is not None and (value < bound if higher else value > bound)
    sign = ">" if found.alarm else "<="
    reason = (
        f"{name}={value:.4g} vs reference {reference:.4g} (its first {served.reference_rows} "
        f"live rows): CUSUM {found.statistic:.3g} {sign} {threshold:g} batch sds "
        f"(slack {drop / 2:g}, batch sd {sd:.2g}, mean fall {found.run_fall:.3g} over "
        f"{found.run} batches)"
    )
    if beyond:
        reason = f"{name}={value:.4g} {'<' if higher else '>'} {bound:.4g} (floor); {reason}"
    status = Status.FAIL if found.alarm or beyond else Status.PASS
    return CheckOutcome(check, status, reason, value, limit, p_value=found.p_value)
