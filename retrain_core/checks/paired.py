"""Paired tests of two models on the same rows: is the second one better than the first?

Both models predict the same labelled rows, so their errors are paired and a paired test is far
more sensitive than comparing two scores. For a metric that is a mean of per-row correctness
(accuracy) the test is McNemar's exact test: only the discordant rows count (one model right,
the other wrong) and, when the models are equally good, the challenger wins each of them with
probability 1/2. For a mean of per-row losses (squared error for rmse, absolute error for mae,
log loss) it is a one-sided paired t-test on the per-row differences. Both p-values are one-sided:
the chance of a win at least this large when the challenger is in truth no better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# the per-row quantity each metric averages, and how the tested mean maps back to the metric
PAIRED_METRICS = ("accuracy", "log_loss", "rmse", "mae")
_EPS = 1e-15  # log loss clips probabilities as scikit-learn does


@dataclass(frozen=True)
class PairedResult:
    """Two models' metric on the same rows, the challenger's gain and its one-sided p-value.

    `gain` is positive when the challenger is better (higher accuracy, lower loss). For McNemar
    `wins` and `losses` are the discordant rows the challenger got right and wrong."""

    champion: float
    challenger: float
    gain: float
    p_value: float
    rows: int
    test: str
    wins: int = 0
    losses: int = 0


def mcnemar_exact(champion_right: Any, challenger_right: Any) -> tuple[int, int, float]:
    """(wins, losses, p): the discordant rows and the one-sided exact McNemar p-value.

    wins: rows only the challenger got right; losses: rows only the champion got right.
    p = P(X >= wins) for X ~ Binomial(wins + losses, 1/2); 1.0 without discordant rows."""
    import numpy as np
    from scipy.stats import binom

    a = np.asarray(champion_right, dtype=bool)
    b = np.asarray(challenger_right, dtype=bool)
    if a.shape != b.shape:
        raise ValueError("both models must be judged on the same rows")
    wins, losses = int(np.sum(b & ~a)), int(np.sum(a & ~b))
    n = wins + losses
    p = 1.0 if n == 0 else float(binom.sf(wins - 1, n, 0.5))
    return wins, losses, min(1.0, max(0.0, p))


def paired_loss_test(champion_loss: Any, challenger_loss: Any) -> float:
    """One-sided p-value that the challenger's mean per-row loss is lower only by chance
    (paired t-test on champion - challenger)."""
    import numpy as np
    from scipy.stats import ttest_rel

    a = np.asarray(champion_loss, dtype=float)
    b = np.asarray(challenger_loss, dtype=float)
    if a.shape != b.shape:
        raise ValueError("both models must be judged on the same rows")
    if len(a) < 2:
        return 1.0
    diff = a - b
    if np.allclose(diff, diff[0]):  # no spread: the sign decides
        return 0.0 if diff[0] > 0 else 1.0
    p = float(ttest_rel(a, b, alternative="greater").pvalue)
    return 1.0 if math.isnan(p) else p


def per_row_loss(
    metric: str, y_true: Any, y_pred: Any, proba: Any = None, classes: Any = None
) -> Any:
    """The per-row loss a metric averages (rmse: squared error), as a float array."""
    import numpy as np

    y_true = np.asarray(y_true)
    if metric == "rmse":
        return (np.asarray(y_pred, dtype=float) - y_true.astype(float)) ** 2
    if metric == "mae":
        return np.abs(np.asarray(y_pred, dtype=float) - y_true.astype(float))
    if metric == "log_loss":
        if proba is None or classes is None:
            raise ValueError("log_loss needs predicted probabilities")
        index = {c: i for i, c in enumerate(list(classes))}
        p = np.asarray(proba, dtype=float)
        rows = np.arange(len(y_true))
        cols = np.array([index.get(v, -1) for v in y_true.tolist()])
        chosen = np.where(cols >= 0, p[rows, np.clip(cols, 0, None)], 0.0)
        return -np.log(np.clip(chosen, _EPS, 1.0))
    raise ValueError(f"{metric} is not a mean of per-row losses")


def compare(
    metric: str,
    y_true: Any,
    champion: tuple[Any, Any, Any],
    challenger: tuple[Any, Any, Any],
) -> PairedResult:
    """Both models on the same rows: each is (predictions, probabilities or None, classes)."""
    import numpy as np

    y = np.asarray(y_true)
    if metric not in PAIRED_METRICS:
        raise ValueError(f"{metric} has no per-row paired test (use {', '.join(PAIRED_METRICS)})")
    if metric == "accuracy":
        a, b = np.asarray(champion[0]) == y, np.asarray(challenger[0]) == y
        wins, losses, p = mcnemar_exact(a, b)
        first, second = float(a.mean()), float(b.mean())
        return PairedResult(first, second, second - first, p, len(y), "McNemar exact", wins, losses)
    la, lb = per_row_loss(metric, y, *champion), per_row_loss(metric, y, *challenger)
    p = paired_loss_test(la, lb)
    if metric == "rmse":
        first, second = float(np.sqrt(la.mean())), float(np.sqrt(lb.mean()))
    else:
        first, second = float(la.mean()), float(lb.mean())
    return PairedResult(first, second, first - second, p, len(y), "paired t-test")


@dataclass(frozen=True)
class NotWorse:
    """A challenger against the champion for a stage: each one's metric, the rows behind them and
    two one-sided p-values: that it is no worse than the champion by more than the margin only by
    chance (`p_not_worse`), and that it is worse only by chance (`p_worse`)."""

    champion: float
    challenger: float
    rows: int  # the challenger's rows (shadow: both models' same rows)
    p_not_worse: float
    p_worse: float
    test: str
    champion_rows: int = 0


def row_scores(metric: str, y_true: Any, model: tuple[Any, Any, Any]) -> Any:
    """Per-row goodness (higher is better): correctness for accuracy, minus the loss otherwise."""
    import numpy as np

    if metric == "accuracy":
        return (np.asarray(model[0]) == np.asarray(y_true)).astype(float)
    return -per_row_loss(metric, y_true, *model)


def _metric(metric: str, scores: Any) -> float:
    """The metric from per-row scores (rmse: the root of the mean squared error)."""
    import numpy as np

    mean = float(np.mean(scores)) if len(scores) else float("nan")
    if metric == "accuracy":
        return mean
    return float(np.sqrt(-mean)) if metric == "rmse" else -mean


def _row_margin(metric: str, champion: float, margin: float) -> float:
    """The margin in per-row units: rmse's is the rise in mean squared error it allows (a fall
    it demands when negative, down to a perfect model)."""
    return max(champion + margin, 0.0) ** 2 - champion**2 if metric == "rmse" else margin


def _greater(diff: Any) -> float:
    """One-sided p that the mean of `diff` is above 0 only by chance (one-sample t-test)."""
    import numpy as np
    from scipy.stats import ttest_1samp

    if len(diff) < 2:
        return 1.0
    if np.allclose(diff, diff[0]):
        return 0.0 if diff[0] > 0 else 1.0
    p = float(ttest_1samp(diff, 0.0, alternative="greater").pvalue)
    return 1.0 if math.isnan(p) else p


def not_worse_paired(
    metric: str,
    y_true: Any,
    champion: tuple[Any, Any, Any],
    challenger: tuple[Any, Any, Any],
    margin: float,
) -> NotWorse:
    """Shadow: both models on the same rows. "Worse" is `compare` with the roles swapped (the
    challenger_gain trigger's test: McNemar exact for accuracy, a paired t-test for losses);
    "not worse" is the paired t-test of the per-row differences shifted by the margin."""
    import numpy as np

    if metric not in PAIRED_METRICS:
        raise ValueError(f"{metric} has no per-row paired test (use {', '.join(PAIRED_METRICS)})")
    a, b = row_scores(metric, y_true, champion), row_scores(metric, y_true, challenger)
    first, second = _metric(metric, a), _metric(metric, b)
    worse = compare(metric, y_true, challenger, champion).p_value if len(a) else 1.0
    shift = _row_margin(metric, first, margin) if len(a) else 0.0
    p = _greater(np.asarray(b - a + shift)) if len(a) else 1.0
    return NotWorse(first, second, len(a), p, worse, "paired", len(a))


def not_worse_split(
    metric: str,
    champion: tuple[Any, tuple[Any, Any, Any]],
    challenger: tuple[Any, tuple[Any, Any, Any]],
    margin: float,
) -> NotWorse:
    """Canary: each model on the rows it served (labels, (predictions, probabilities, classes)):
    Welch's t-tests of the per-row scores, "not worse" shifted by the margin."""
    import numpy as np
    from scipy.stats import ttest_ind

    a, b = row_scores(metric, *champion), row_scores(metric, *challenger)
    first, second = _metric(metric, a), _metric(metric, b)
    if len(a) < 2 or len(b) < 2:
        return NotWorse(first, second, len(b), 1.0, 1.0, "Welch t-test", len(a))
    shift = _row_margin(metric, first, margin)

    def p(x: Any, y: Any, side: str) -> float:
        if np.allclose(np.concatenate([x, y]), x[0]):  # no spread anywhere
            return 1.0
        found = float(ttest_ind(x, y, equal_var=False, alternative=side).pvalue)
        return 1.0 if math.isnan(found) else found

    return NotWorse(
        first, second, len(b), p(b + shift, a, "greater"), p(b, a, "less"), "Welch t-test", len(a)
    )
